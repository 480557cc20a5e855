using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;

namespace Pooler.IntegrationTests;

/// <summary>Npgsql through a pooler in transaction mode, as an application would use it.</summary>
public sealed class TransactionModeTests(TransactionPoolFixture fixture) : IClassFixture<TransactionPoolFixture>
{
    private readonly PoolerNode _pooler = fixture.Pooler;

    [Theory]
    [InlineData("pooler_scram")]
    [InlineData("pooler_md5")]
    [InlineData("pooler_plain")]
    public async Task Each_user_logs_in_and_queries_through_the_pooler(string userName)
    {
        var user = TestUsers.All.Single(u => u.Name == userName);
        await using var connection = await _pooler.OpenAsync(user);

        await using var command = new NpgsqlCommand("SELECT current_user, current_database()", connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(user.Name, reader.GetString(0));
        Assert.Equal(TestUsers.Database, reader.GetString(1));
    }

    [Fact]
    public async Task Parameters_and_multiple_result_sets_come_back_intact()
    {
        await using var connection = await _pooler.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT @a::int + 1; SELECT @b::text || '!', 2", connection);
        command.Parameters.AddWithValue("a", 41);
        command.Parameters.AddWithValue("b", "hello");

        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(42, reader.GetInt32(0));
        Assert.True(await reader.NextResultAsync());
        Assert.True(await reader.ReadAsync());
        Assert.Equal("hello!", reader.GetString(0));
        Assert.Equal(2, reader.GetInt32(1));
    }

    [Fact]
    public async Task A_transaction_keeps_one_server_connection_until_commit()
    {
        await using var connection = await _pooler.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var pids = new HashSet<int>();
        for (var i = 0; i < 5; i++)
        {
            await using var command = new NpgsqlCommand("SELECT pg_backend_pid()", connection, transaction);
            pids.Add((int)(await command.ExecuteScalarAsync())!);
        }
        await using (var create = new NpgsqlCommand("CREATE TEMP TABLE in_tx (x int) ON COMMIT DROP; INSERT INTO in_tx VALUES (7)", connection, transaction))
            await create.ExecuteNonQueryAsync();
        await using (var read = new NpgsqlCommand("SELECT x FROM in_tx", connection, transaction))
            Assert.Equal(7, (int)(await read.ExecuteScalarAsync())!);
        await transaction.CommitAsync();

        Assert.Single(pids);
    }

    [Fact]
    public async Task Rolled_back_work_is_gone_and_the_connection_goes_on()
    {
        await using var connection = await _pooler.OpenAsync();
        await using (var setup = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS rollback_probe (id int)", connection))
            await setup.ExecuteNonQueryAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using var insert = new NpgsqlCommand("INSERT INTO rollback_probe VALUES (99)", connection, transaction);
            await insert.ExecuteNonQueryAsync();
            await transaction.RollbackAsync();
        }

        await using var count = new NpgsqlCommand("SELECT count(*) FROM rollback_probe WHERE id = 99", connection);
        Assert.Equal(0L, (long)(await count.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Errors_from_postgres_reach_the_client_unchanged()
    {
        await using var connection = await _pooler.OpenAsync();
        await using var bad = new NpgsqlCommand("SELECT * FROM no_such_table_here", connection);

        var error = await Assert.ThrowsAsync<PostgresException>(() => bad.ExecuteScalarAsync());

        Assert.Equal("42P01", error.SqlState);
        Assert.Contains("no_such_table_here", error.MessageText);
        await using var good = new NpgsqlCommand("SELECT 1", connection);
        Assert.Equal(1, (int)(await good.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Many_clients_share_two_server_connections_and_each_gets_its_own_answers()
    {
        const int clients = 40;
        var tasks = Enumerable.Range(0, clients).Select(async id =>
        {
            await using var connection = await _pooler.OpenAsync();
            for (var i = 0; i < 20; i++)
            {
                await using var command = new NpgsqlCommand("SELECT @id::int, @i::int", connection);
                command.Parameters.AddWithValue("id", id);
                command.Parameters.AddWithValue("i", i);
                await using var reader = await command.ExecuteReaderAsync();
                Assert.True(await reader.ReadAsync());
                Assert.Equal(id, reader.GetInt32(0));
                Assert.Equal(i, reader.GetInt32(1));
            }
        });
        await Task.WhenAll(tasks);

        var servers = await fixture.ServerConnectionsAsync();
        Assert.True(servers <= 2, $"expected at most 2 server connections, saw {servers}");
    }

    [Fact]
    public async Task Unknown_database_is_refused_with_3D000()
    {
        await using var connection = new NpgsqlConnection(_pooler.ConnectionString(database: "no_such_pool"));

        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync());

        Assert.Equal("3D000", error.SqlState);
        Assert.Contains("no_such_pool", error.MessageText);
    }

    [Fact]
    public async Task Wrong_password_is_refused_with_28P01()
    {
        var wrong = TestUsers.Scram with { Password = "wrong-password" };
        await using var connection = new NpgsqlConnection(_pooler.ConnectionString(wrong));

        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync());

        Assert.Equal("28P01", error.SqlState);
        Assert.DoesNotContain("wrong-password", _pooler.Process.Output);
    }

    [Fact]
    public async Task Notices_from_the_server_reach_the_client()
    {
        await using var connection = await _pooler.OpenAsync();
        var notices = new List<string>();
        connection.Notice += (_, e) => notices.Add(e.Notice.MessageText);
        await using var command = new NpgsqlCommand("DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$", connection);

        await command.ExecuteNonQueryAsync();

        Assert.Equal(["hello from plpgsql"], notices);
    }

    [Fact]
    public async Task An_extended_batch_sent_behind_a_query_keeps_its_server_until_sync()
    {
        var (client, _) = await WireClient.LoginAsync(_pooler.Host, _pooler.Port, TestUsers.Scram.Name,
            TestUsers.Scram.Password, TestUsers.Database);
        await using var _c = client;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));

        // The Query's ReadyForQuery arrives while the Parse (sent with a Flush, no Sync) is still
        // open on the server: the transaction-mode lease must not end there.
        await client.SendAsync(w =>
        {
            Pooler.Protocol.Query.Write(w, "SELECT 1");
            new Pooler.Protocol.Parse("", "SELECT 2", []).WriteTo(w);
            Pooler.Protocol.Flush.Write(w);
        });
        var first = await client.ReadResultAsync();
        var parsed = await client.ReadMessageAsync(deadline.Token);
        await client.SendAsync(w =>
        {
            new Pooler.Protocol.Bind("").WriteTo(w);
            new Pooler.Protocol.Execute("", 0).WriteTo(w);
            Pooler.Protocol.Sync.Write(w);
        });
        var second = await client.ReadResultAsync();

        Assert.Equal("1", first.Text(0, 0));
        Assert.Equal(Pooler.Protocol.BackendMessageType.ParseComplete, parsed.Type);
        Assert.Null(second.Error);
        Assert.Equal("2", second.Text(0, 0));
    }
}
