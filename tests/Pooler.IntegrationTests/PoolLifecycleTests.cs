using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;

namespace Pooler.IntegrationTests;

/// <summary>
/// How the pool opens, keeps and retires server connections: min_pool_size, idle_timeout,
/// server_lifetime. Each test has its own PostgreSQL so the connection counts are its own.
/// </summary>
public sealed class PoolLifecycleTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Min_pool_size_connections_are_open_before_any_client_arrives()
    {
        await using var server = await PostgresServer.StartAsync();
        await using var pooler = await PoolerNode.StartAsync(server, "transaction", poolSize: 5, userExtra: "min_pool_size = 2");
        await using var activity = await ServerActivity.OpenAsync(server);

        await Eventually.WaitUntilAsync(async () => await activity.ConnectionsAsync(TestUsers.Scram.Name) == 2,
            Deadline, "two warm server connections exist");
    }

    [Fact]
    public async Task Idle_connections_close_after_idle_timeout()
    {
        await using var server = await PostgresServer.StartAsync();
        await using var pooler = await PoolerNode.StartAsync(server, "transaction", poolSize: 5, general: "idle_timeout = 1000");
        await using var activity = await ServerActivity.OpenAsync(server);
        await using (var connection = await pooler.OpenAsync())
        await using (var command = new NpgsqlCommand("SELECT 1", connection))
            await command.ExecuteScalarAsync();
        // At least the one just used (on a slow machine the login's first connection may already
        // have idled out and be on its way down while a second served the query).
        Assert.InRange(await activity.ConnectionsAsync(TestUsers.Scram.Name), 1, 2);

        await Eventually.WaitUntilAsync(async () => await activity.ConnectionsAsync(TestUsers.Scram.Name) == 0,
            Deadline, "the idle server connection is closed");
        await pooler.Process.WaitForLineAsync("idle_timeout reached");
    }

    [Fact]
    public async Task A_connection_older_than_server_lifetime_is_replaced()
    {
        await using var server = await PostgresServer.StartAsync();
        await using var pooler = await PoolerNode.StartAsync(server, "transaction", poolSize: 1, general: "server_lifetime = 500");
        await using var activity = await ServerActivity.OpenAsync(server);
        await using var connection = await pooler.OpenAsync();
        await using var pid = new NpgsqlCommand("SELECT pg_backend_pid()", connection);
        var first = (int)(await pid.ExecuteScalarAsync())!;

        // The connection that served the query is the one to be replaced: on a slow machine the pool's
        // first connection may have reached server_lifetime already, before the query.
        var opened = await pooler.Process.WaitForLineAsync($"(backend pid {first};");
        var name = System.Text.RegularExpressions.Regex.Match(opened, @"opened (server-\d+ \([^)]*\))").Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(name), $"no server name in: {opened}");
        await pooler.Process.WaitForLineAsync($"closing {name}: server_lifetime reached");
        var second = (int)(await pid.ExecuteScalarAsync())!;

        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task A_users_statement_timeout_applies_on_every_server_connection()
    {
        await using var server = await PostgresServer.StartAsync();
        await using var pooler = await PoolerNode.StartAsync(server, "transaction", poolSize: 2, userExtra: "statement_timeout = 300");
        await using var connection = await pooler.OpenAsync();
        await using var show = new NpgsqlCommand("SHOW statement_timeout", connection);
        await using var slow = new NpgsqlCommand("SELECT pg_sleep(5)", connection);

        Assert.Equal("300ms", await show.ExecuteScalarAsync());
        var error = await Assert.ThrowsAsync<PostgresException>(() => slow.ExecuteScalarAsync());
        Assert.Equal("57014", error.SqlState);
        Assert.Contains("statement timeout", error.MessageText);
    }
}
