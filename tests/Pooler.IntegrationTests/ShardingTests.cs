using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;

namespace Pooler.IntegrationTests;

/// <summary>
/// Three shards (databases shard0..shard2 on one PostgreSQL, each with a table <c>items</c>) behind
/// one pool with sharding_function pg_bigint_hash and automatic_sharding_key items.id; and, for
/// the expected answers, a table hash-partitioned by PostgreSQL itself with modulus 3.
/// </summary>
public sealed class ShardingFixture : IAsyncLifetime
{
    public const int Shards = 3;
    public PostgresServer Server { get; private set; } = null!;
    public PoolerNode Pooler { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await PostgresServer.StartAsync();
        for (var shard = 0; shard < Shards; shard++)
        {
            await Server.PsqlAsync($"CREATE DATABASE shard{shard} OWNER {TestUsers.Scram.Name}");
            await Server.PsqlAsync($"CREATE TABLE items (id bigint PRIMARY KEY, v text); ALTER TABLE items OWNER TO {TestUsers.Scram.Name}", $"shard{shard}");
        }
        await Server.PsqlAsync($"CREATE TABLE reference (id bigint) PARTITION BY HASH (id)", TestUsers.Database);
        var shards = string.Join("\n", Enumerable.Range(0, Shards).Select(shard => $"""
            [pools.sharded.shards.{shard}]
            servers = [["{Server.Host}", {Server.Port}, "primary"]]
            database = "shard{shard}"

            """));
        Pooler = await PoolerNode.StartWithPoolsAsync($"""
            [pools.sharded]
            pool_mode = "transaction"
            query_parser_enabled = true
            sharding_function = "pg_bigint_hash"
            automatic_sharding_key = "items.id"
            default_shard = "shard_0"

            {shards}
            {TestPoolToml.ScramUser("sharded", 2)}
            """);
    }

    public async Task DisposeAsync()
    {
        if (Pooler is not null)
            await Pooler.DisposeAsync();
        if (Server is not null)
            await Server.DisposeAsync();
    }

    /// <summary>The partition PostgreSQL's own hash partitioning (modulus 3) puts <paramref name="key"/> in.</summary>
    public async Task<int> PostgresPartitionAsync(long key) => int.Parse(await Server.PsqlAsync(
        $"SELECT n FROM generate_series(0, {Shards - 1}) n WHERE satisfies_hash_partition('reference'::regclass, {Shards}, n, {key}::bigint)",
        TestUsers.Database));

    /// <summary>The shard databases that hold a row with this id.</summary>
    public async Task<List<int>> ShardsHoldingAsync(long key)
    {
        var holding = new List<int>();
        for (var shard = 0; shard < Shards; shard++)
            if (await Server.PsqlAsync($"SELECT count(*) FROM items WHERE id = {key}", $"shard{shard}") == "1")
                holding.Add(shard);
        return holding;
    }

    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(Pooler.ConnectionString(database: "sharded"));
        await connection.OpenAsync();
        return connection;
    }
}

public sealed class ShardingTests(ShardingFixture fixture) : IClassFixture<ShardingFixture>
{
    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql) =>
        (T)(await new NpgsqlCommand(sql, connection).ExecuteScalarAsync())!;

    [Theory]
    [InlineData(1L)]
    [InlineData(42L)]
    [InlineData(-5L)]
    [InlineData(1000000007L)]
    [InlineData(123456789012L)]
    public async Task Rows_written_with_a_sharding_key_land_where_postgresql_hash_partitioning_puts_them(long key)
    {
        var expected = await fixture.PostgresPartitionAsync(key);
        await using var client = await fixture.OpenAsync();
        await new NpgsqlCommand($"SET SHARDING KEY TO '{key}'", client).ExecuteNonQueryAsync();
        Assert.Equal($"shard{expected}", await ScalarAsync<string>(client, "SELECT current_database()"));
        await new NpgsqlCommand($"INSERT INTO items VALUES ({key}, 'set-{key}')", client).ExecuteNonQueryAsync();
        Assert.Equal([expected], await fixture.ShardsHoldingAsync(key));

        // Read back by key: automatically (WHERE id = <key>), with no SET in this session.
        await using var reader = await fixture.OpenAsync();
        Assert.Equal($"set-{key}", await ScalarAsync<string>(reader, $"SELECT v FROM items WHERE id = {key}"));
    }

    [Fact]
    public async Task A_sharding_key_comment_and_set_shard_pick_the_shard_and_no_key_goes_to_the_default_shard()
    {
        const long key = 977;
        var expected = await fixture.PostgresPartitionAsync(key);
        await using var client = await fixture.OpenAsync();
        await new NpgsqlCommand($"/* sharding_key: {key} */ INSERT INTO items VALUES ({key}, 'comment')", client).ExecuteNonQueryAsync();
        Assert.Equal([expected], await fixture.ShardsHoldingAsync(key));

        Assert.Equal("shard0", await ScalarAsync<string>(client, "SELECT current_database()"));
        await new NpgsqlCommand("SET SHARD TO '2'", client).ExecuteNonQueryAsync();
        Assert.Equal("2", await ScalarAsync<string>(client, "SHOW SHARD"));
        Assert.Equal("shard2", await ScalarAsync<string>(client, "SELECT current_database()"));
        Assert.Equal("shard1", await ScalarAsync<string>(client, "/* shard: 1 */ SELECT current_database()"));

        // pg_bigint_hash needs a number: the next transaction is refused, saying why.
        await new NpgsqlCommand("SET SHARDING KEY TO 'abc'", client).ExecuteNonQueryAsync();
        var bad = await Assert.ThrowsAsync<PostgresException>(() => new NpgsqlCommand("SELECT 1", client).ExecuteScalarAsync());
        Assert.Contains("abc", bad.MessageText);
    }
}
