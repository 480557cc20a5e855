using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;

namespace Pooler.IntegrationTests;

/// <summary>A server with a mirror: a second PostgreSQL with the same roles, database and table.</summary>
public sealed class MirrorFixture : IAsyncLifetime
{
    public PostgresServer Server { get; private set; } = null!;
    public PostgresServer Mirror { get; private set; } = null!;
    public PoolerNode Pooler { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await PostgresServer.StartAsync();
        Mirror = await PostgresServer.StartAsync();
        foreach (var server in new[] { Server, Mirror })
            await server.PsqlAsync("CREATE TABLE mirrored (id int, v text); GRANT ALL ON mirrored TO PUBLIC", TestUsers.Database);
        Pooler = await PoolerNode.StartWithPoolsAsync($"""
            [pools.{TestUsers.Database}]
            pool_mode = "transaction"

            [pools.{TestUsers.Database}.shards.0]
            servers = [["{Server.Host}", {Server.Port}, "primary"]]
            mirrors = [["{Mirror.Host}", {Mirror.Port}, 0]]
            database = "{TestUsers.Database}"

            {TestPoolToml.ScramUser(TestUsers.Database, 2)}
            """);
    }

    public async Task DisposeAsync()
    {
        if (Pooler is not null)
            await Pooler.DisposeAsync();
        if (Mirror is not null)
            await Mirror.DisposeAsync();
        if (Server is not null)
            await Server.DisposeAsync();
    }

    public async Task<int> RowsAsync(PostgresServer server) =>
        int.Parse(await server.PsqlAsync("SELECT count(*) FROM mirrored", TestUsers.Database));
}

/// <summary>mirrors = [[host, port, server_index]]: the mirror gets a copy of the writes; a stopped mirror changes nothing for clients.</summary>
public sealed class MirrorTests(MirrorFixture fixture) : IClassFixture<MirrorFixture>
{
    [Fact]
    public async Task The_mirror_receives_the_writes_and_stopping_it_changes_nothing_for_clients()
    {
        await using (var client = await fixture.Pooler.OpenAsync())
        {
            for (var i = 0; i < 20; i++)
            {
                await using var insert = new NpgsqlCommand("INSERT INTO mirrored VALUES (@i, 'copy')", client);
                insert.Parameters.AddWithValue("i", i);
                await insert.ExecuteNonQueryAsync();
            }
        }
        Assert.Equal(20, await fixture.RowsAsync(fixture.Server));
        await Eventually.WaitUntilAsync(async () => await fixture.RowsAsync(fixture.Mirror) == 20, TimeSpan.FromSeconds(15),
            "the mirror received the 20 inserts");

        await fixture.Mirror.StopFastAsync();
        try
        {
            await using var client = await fixture.Pooler.OpenAsync();
            for (var i = 20; i < 40; i++)
            {
                await using var insert = new NpgsqlCommand("INSERT INTO mirrored VALUES (@i, 'after') RETURNING id", client);
                insert.Parameters.AddWithValue("i", i);
                Assert.Equal(i, (int)(await insert.ExecuteScalarAsync())!);
            }
            Assert.Equal(40, await fixture.RowsAsync(fixture.Server));
        }
        finally
        {
            await fixture.Mirror.StartAgainAsync();
        }
        Assert.Equal(20, await fixture.RowsAsync(fixture.Mirror));
    }
}
