using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;

namespace Pooler.IntegrationTests;

/// <summary>
/// Npgsql through a pooler in session mode: a client owns one server connection from login to
/// logout, with everything that lives on it (temp tables, SET, LISTEN), and the next client gets
/// that connection back clean.
/// </summary>
public sealed class SessionModeTests(SessionPoolFixture fixture, SessionSingleConnectionFixture single)
    : IClassFixture<SessionPoolFixture>, IClassFixture<SessionSingleConnectionFixture>
{
    private readonly PoolerNode _pooler = fixture.Pooler;

    [Fact]
    public async Task A_client_keeps_one_server_connection_for_its_whole_session()
    {
        await using var first = await _pooler.OpenAsync();
        await using var second = await _pooler.OpenAsync();

        var firstPids = new HashSet<int>();
        var secondPids = new HashSet<int>();
        for (var i = 0; i < 20; i++)
        {
            // Alternate clients and mix autocommit statements with explicit transactions, so a
            // pooler handing connections back at transaction end would show up as a new pid.
            firstPids.Add(await BackendPidAsync(first, explicitTransaction: i % 2 == 0));
            secondPids.Add(await BackendPidAsync(second, explicitTransaction: i % 3 == 0));
        }

        Assert.Single(firstPids);
        Assert.Single(secondPids);
        Assert.NotEqual(firstPids.Single(), secondPids.Single());
    }

    [Fact]
    public async Task A_temp_table_and_a_set_survive_between_transactions()
    {
        await using var connection = await _pooler.OpenAsync();
        await ExecuteAsync(connection, "CREATE TEMP TABLE session_notes (note text)");
        await ExecuteAsync(connection, "SET work_mem = '7MB'");
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using var insert = new NpgsqlCommand("INSERT INTO session_notes VALUES ('kept')", connection, transaction);
            await insert.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        }
        await ExecuteAsync(connection, "INSERT INTO session_notes VALUES ('also kept')");

        Assert.Equal(2L, await ScalarAsync<long>(connection, "SELECT count(*) FROM session_notes"));
        Assert.Equal("7MB", await ScalarAsync<string>(connection, "SHOW work_mem"));
    }

    [Fact]
    public async Task The_next_client_on_the_same_server_connection_finds_it_reset()
    {
        var pooler = single.Pooler;
        int firstPid;
        await using (var first = await pooler.OpenAsync())
        {
            firstPid = await ScalarAsync<int>(first, "SELECT pg_backend_pid()");
            await ExecuteAsync(first, "CREATE TEMP TABLE left_behind (x int)");
            await ExecuteAsync(first, "INSERT INTO left_behind VALUES (1)");
            await ExecuteAsync(first, "SET work_mem = '7MB'");
            await ExecuteAsync(first, "SET search_path = pg_catalog");
            await ExecuteAsync(first, "PREPARE left_plan AS SELECT 1");
        }

        await using var next = await pooler.OpenAsync();

        Assert.Equal(firstPid, await ScalarAsync<int>(next, "SELECT pg_backend_pid()"));
        Assert.Equal(0L, await ScalarAsync<long>(next,
            "SELECT count(*) FROM pg_class WHERE relname = 'left_behind' AND relpersistence = 't'"));
        Assert.Equal("4MB", await ScalarAsync<string>(next, "SHOW work_mem"));
        Assert.Equal("\"$user\", public", await ScalarAsync<string>(next, "SHOW search_path"));
        Assert.Equal(0L, await ScalarAsync<long>(next, "SELECT count(*) FROM pg_prepared_statements"));
    }

    [Fact]
    public async Task A_listening_client_receives_a_notify_sent_by_another_client()
    {
        await using var listener = await _pooler.OpenAsync();
        var received = new List<NpgsqlNotificationEventArgs>();
        listener.Notification += (_, e) => received.Add(e);
        await ExecuteAsync(listener, "LISTEN pooler_channel");

        int senderPid;
        await using (var sender = await _pooler.OpenAsync())
        {
            senderPid = await ScalarAsync<int>(sender, "SELECT pg_backend_pid()");
            await ExecuteAsync(sender, "NOTIFY pooler_channel, 'hello from another client'");
        }

        // The notification arrives asynchronously on the listener's idle connection.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (received.Count == 0 && DateTime.UtcNow < deadline)
            await listener.WaitAsync(TimeSpan.FromSeconds(1));

        var notification = Assert.Single(received);
        Assert.Equal("pooler_channel", notification.Channel);
        Assert.Equal("hello from another client", notification.Payload);
        Assert.Equal(senderPid, notification.PID);
        Assert.Equal(1, await ScalarAsync<int>(listener, "SELECT 1"));
    }

    private static async Task<int> BackendPidAsync(NpgsqlConnection connection, bool explicitTransaction)
    {
        if (!explicitTransaction)
            return await ScalarAsync<int>(connection, "SELECT pg_backend_pid()");
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand("SELECT pg_backend_pid()", connection, transaction);
        var pid = (int)(await command.ExecuteScalarAsync())!;
        await transaction.CommitAsync();
        return pid;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
