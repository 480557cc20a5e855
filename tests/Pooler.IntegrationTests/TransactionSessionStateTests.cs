using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;

namespace Pooler.IntegrationTests;

/// <summary>Transaction mode with two server connections, one test class to itself.</summary>
public sealed class TransactionSessionStateFixture : PoolerFixture
{
    protected override string PoolMode => "transaction";
    protected override int PoolSize => 2;
}

/// <summary>
/// Session state in transaction mode, feature by feature (README, "Transaction mode and session
/// state"): state that lives on the server connection — LISTEN, SQL PREPARE, temporary tables,
/// WITH HOLD cursors, session advisory locks — keeps the client on its connection until it
/// disconnects (then the connection is reset); SET of the tracked parameters follows the client
/// to whichever connection it gets next.
/// </summary>
public sealed class TransactionSessionStateTests(TransactionSessionStateFixture fixture) : IClassFixture<TransactionSessionStateFixture>
{
    private readonly PoolerNode _pooler = fixture.Pooler;

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql) =>
        (T)(await new NpgsqlCommand(sql, connection).ExecuteScalarAsync())!;

    private static Task ExecuteAsync(NpgsqlConnection connection, string sql) => new NpgsqlCommand(sql, connection).ExecuteNonQueryAsync();

    /// <summary>
    /// Another client takes the server connection <paramref name="connection"/> used last and holds it
    /// in a transaction, so <paramref name="connection"/>'s next transaction must run elsewhere
    /// unless it is pinned. Dispose the result to let go.
    /// </summary>
    private async Task<NpgsqlConnection> HoldLastServerOfAsync(NpgsqlConnection connection)
    {
        var pid = await ScalarAsync<int>(connection, "SELECT pg_backend_pid()");
        var holder = await _pooler.OpenAsync();
        await ExecuteAsync(holder, "BEGIN");
        Assert.Equal(pid, await ScalarAsync<int>(holder, "SELECT pg_backend_pid()"));
        return holder;
    }

    [Fact]
    public async Task Listen_keeps_the_client_on_its_connection_and_notifications_arrive()
    {
        await using var listener = await _pooler.OpenAsync();
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        listener.Notification += (_, e) => received.TrySetResult(e.Payload);
        await ExecuteAsync(listener, "LISTEN pooler_channel");
        var pid = await ScalarAsync<int>(listener, "SELECT pg_backend_pid()");

        await using (var notifier = await _pooler.OpenAsync())
        {
            for (var i = 0; i < 5; i++)
                Assert.NotEqual(pid, await ScalarAsync<int>(notifier, "SELECT pg_backend_pid()"));
            await ExecuteAsync(notifier, "NOTIFY pooler_channel, 'hello'");
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (!received.Task.IsCompleted)
            await listener.WaitAsync(timeout.Token);
        Assert.Equal("hello", await received.Task);
        Assert.Equal(pid, await ScalarAsync<int>(listener, "SELECT pg_backend_pid()"));
    }

    [Fact]
    public async Task Sql_prepare_temp_tables_and_hold_cursors_work_across_transactions()
    {
        await using var client = await _pooler.OpenAsync();
        await ExecuteAsync(client, "PREPARE triple(int) AS SELECT $1 * 3");
        await ExecuteAsync(client, "CREATE TEMP TABLE scratch (x int); INSERT INTO scratch VALUES (1), (2)");
        await ExecuteAsync(client, "BEGIN; DECLARE held CURSOR WITH HOLD FOR SELECT g FROM generate_series(1, 3) g; COMMIT");
        var pid = await ScalarAsync<int>(client, "SELECT pg_backend_pid()");
        await using (var other = await _pooler.OpenAsync())
        {
            // The client's connection is its own now: others run on the other one.
            for (var i = 0; i < 5; i++)
                Assert.NotEqual(pid, await ScalarAsync<int>(other, "SELECT pg_backend_pid()"));
            Assert.Equal(21, await ScalarAsync<int>(client, "EXECUTE triple(7)"));
            Assert.Equal(2L, await ScalarAsync<long>(client, "SELECT count(*) FROM scratch"));
            Assert.Equal(1, await ScalarAsync<int>(client, "FETCH NEXT FROM held"));
        }
        Assert.Equal(2, await ScalarAsync<int>(client, "FETCH NEXT FROM held"));
        Assert.Equal(pid, await ScalarAsync<int>(client, "SELECT pg_backend_pid()"));
    }

    [Fact]
    public async Task A_session_advisory_lock_stays_with_its_client_and_is_released_when_it_leaves()
    {
        var other = await _pooler.OpenAsync();
        await using (var locker = await _pooler.OpenAsync())
        {
            Assert.True(await ScalarAsync<bool>(locker, "SELECT pg_try_advisory_lock(4242)"));
            for (var i = 0; i < 3; i++)
                Assert.False(await ScalarAsync<bool>(other, "SELECT pg_try_advisory_lock(4242)"));
            // Still the locker's: unlocking works from its next transactions, on the same connection.
            Assert.True(await ScalarAsync<bool>(locker, "SELECT pg_advisory_unlock(4242) AND pg_try_advisory_lock(4242)"));
        }
        // The locker left: its connection was reset (DISCARD ALL), so the lock is free.
        await Eventually.WaitUntilAsync(async () => await ScalarAsync<bool>(other, "SELECT pg_try_advisory_lock(4242)"),
            TimeSpan.FromSeconds(10), "the advisory lock was released when its client disconnected");
        await ExecuteAsync(other, "SELECT pg_advisory_unlock_all()");
        await other.DisposeAsync();
    }

    [Fact]
    public async Task Set_of_tracked_parameters_follows_the_client_to_its_next_connection()
    {
        await using (var setup = await _pooler.OpenAsync())
            await ExecuteAsync(setup, "CREATE SCHEMA IF NOT EXISTS elsewhere; CREATE TABLE IF NOT EXISTS elsewhere.marker (v text); " +
                                      "TRUNCATE elsewhere.marker; INSERT INTO elsewhere.marker VALUES ('elsewhere')");
        await using var client = await _pooler.OpenAsync(extra: "Application Name=start");
        await ExecuteAsync(client, "SET search_path TO elsewhere, public");
        await ExecuteAsync(client, "SET application_name = 'tracked'");
        await ExecuteAsync(client, "SET TimeZone = 'Asia/Tokyo'");
        await ExecuteAsync(client, "SET DateStyle = 'SQL, DMY'");
        await ExecuteAsync(client, "SET IntervalStyle = 'iso_8601'");
        var pids = new HashSet<int>();
        for (var round = 0; round < 3; round++)
        {
            await using var holder = await HoldLastServerOfAsync(client);
            var held = await ScalarAsync<int>(holder, "SELECT pg_backend_pid()");
            var now = await ScalarAsync<int>(client, "SELECT pg_backend_pid()");
            Assert.NotEqual(held, now);
            pids.Add(held);
            pids.Add(now);
            Assert.Equal("elsewhere", await ScalarAsync<string>(client, "SELECT v FROM marker"));
            Assert.Equal("elsewhere, public", await ScalarAsync<string>(client, "SHOW search_path"));
            Assert.Equal("tracked", await ScalarAsync<string>(client, "SHOW application_name"));
            Assert.Equal("Asia/Tokyo", await ScalarAsync<string>(client, "SHOW TimeZone"));
            Assert.Equal("SQL, DMY", await ScalarAsync<string>(client, "SHOW DateStyle"));
            Assert.Equal("iso_8601", await ScalarAsync<string>(client, "SHOW IntervalStyle"));
            // The holder, on the connection the client used before, has its own settings.
            Assert.Equal("\"$user\", public", await ScalarAsync<string>(holder, "SHOW search_path"));
            await ExecuteAsync(holder, "COMMIT");
        }
        Assert.True(pids.Count > 1, "the client ran on one server connection only");

        await ExecuteAsync(client, "RESET search_path");
        await using (await HoldLastServerOfAsync(client))
            Assert.Equal("\"$user\", public", await ScalarAsync<string>(client, "SHOW search_path"));
    }
}
