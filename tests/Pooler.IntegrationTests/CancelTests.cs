using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Pooler.Protocol;
using Xunit;

namespace Pooler.IntegrationTests;

/// <summary>
/// Cancelling queries through a pooler in transaction mode with one server connection: a cancel
/// reaches the query of the client that sent it, and only while that query is running.
/// </summary>
public sealed class CancelTests(TransactionSingleConnectionFixture fixture) : IClassFixture<TransactionSingleConnectionFixture>
{
    private static readonly TimeSpan Quickly = TimeSpan.FromSeconds(10);
    private readonly PoolerNode _pooler = fixture.Pooler;

    [Fact]
    public async Task Command_cancel_stops_a_long_query_quickly_and_the_connection_goes_on()
    {
        await using var activity = await ServerActivity.OpenAsync(fixture.Server);
        await using var connection = await _pooler.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_sleep(30)", connection);
        var running = command.ExecuteNonQueryAsync();
        await WaitUntilRunningAsync(activity, "pg_sleep(30)");

        var clock = Stopwatch.StartNew();
        command.Cancel();
        Assert.Same(running, await Task.WhenAny(running, Task.Delay(Quickly)));

        // Npgsql reports a cancel it asked for as OperationCanceledException around PostgreSQL's 57014.
        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        var error = Assert.IsType<PostgresException>(cancelled.InnerException);
        Assert.Equal("57014", error.SqlState);
        Assert.Contains("canceling statement due to user request", error.MessageText);
        Assert.True(clock.Elapsed < Quickly, $"the cancel took {clock.Elapsed}");
        Assert.Equal(1, await ScalarAsync<int>(connection, "SELECT 1"));
    }

    [Fact]
    public async Task Command_timeout_cancels_the_query_and_the_connection_stays_usable()
    {
        await using var connection = await _pooler.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_sleep(30)", connection) { CommandTimeout = 1 };

        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<NpgsqlException>(() => command.ExecuteNonQueryAsync());

        // Npgsql sends a CancelRequest when the timeout expires; only if that cancel works does it
        // keep the connection (otherwise it breaks it after its cancellation timeout).
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.True(clock.Elapsed < Quickly, $"the timeout took {clock.Elapsed}");
        Assert.Equal(System.Data.ConnectionState.Open, connection.State);
        Assert.Equal(1, await ScalarAsync<int>(connection, "SELECT 1"));
    }

    [Fact]
    public async Task A_raw_cancel_request_with_a_clients_key_cancels_its_running_query()
    {
        var (client, login) = await WireClient.LoginAsync(_pooler.Host, _pooler.Port,
            TestUsers.Scram.Name, TestUsers.Scram.Password, TestUsers.Database);
        await using var _ = client;
        var key = Assert.IsType<BackendKeyData>(login.KeyData);
        await using var activity = await ServerActivity.OpenAsync(fixture.Server);

        var running = client.QueryAsync("SELECT pg_sleep(30)");
        await WaitUntilRunningAsync(activity, "pg_sleep(30)");
        await SendCancelRequestAsync(key);
        Assert.Same(running, await Task.WhenAny(running, Task.Delay(Quickly)));

        var result = await running;
        Assert.Equal("57014", result.Error?.SqlState);
        Assert.Equal("1", (await client.QueryAsync("SELECT 1")).Text(0, 0));
    }

    [Fact]
    public async Task A_late_cancel_does_not_cancel_another_clients_query_on_the_same_server_connection()
    {
        // Client A runs a short query and is done with the (only) server connection.
        var (clientA, loginA) = await WireClient.LoginAsync(_pooler.Host, _pooler.Port,
            TestUsers.Scram.Name, TestUsers.Scram.Password, TestUsers.Database);
        await using var _ = clientA;
        var keyA = Assert.IsType<BackendKeyData>(loginA.KeyData);
        var resultA = await clientA.QueryAsync("SELECT pg_backend_pid()");
        Assert.Null(resultA.Error);
        var serverPidOfA = int.Parse(resultA.Text(0, 0)!);

        // Client B now runs a query on that same server connection.
        await using var activity = await ServerActivity.OpenAsync(fixture.Server);
        await using var connectionB = await _pooler.OpenAsync();
        Assert.Equal(serverPidOfA, await ScalarAsync<int>(connectionB, "SELECT pg_backend_pid()"));
        await using var commandB = new NpgsqlCommand("SELECT 'B finished' FROM pg_sleep(2)", connectionB);
        var runningB = commandB.ExecuteScalarAsync();
        await WaitUntilRunningAsync(activity, "'B finished'");

        // A's key, sent while B's query runs, must not reach B's query.
        await SendCancelRequestAsync(keyA);

        Assert.Equal("B finished", (string)(await runningB)!);
        // A is still a working client.
        Assert.Equal("1", (await clientA.QueryAsync("SELECT 1")).Text(0, 0));
    }

    private static Task WaitUntilRunningAsync(ServerActivity activity, string fragment) =>
        Eventually.WaitUntilAsync(async () => await activity.ActiveQueriesAsync(fragment) == 1,
            TimeSpan.FromSeconds(10), $"PostgreSQL runs the query containing {fragment}");

    /// <summary>
    /// Sends a CancelRequest on a new connection, as libpq does, and waits until the pooler has
    /// dealt with it (it closes the connection without an answer).
    /// </summary>
    private async Task SendCancelRequestAsync(BackendKeyData key)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(_pooler.Host, _pooler.Port);
        var packet = new ArrayBufferWriter<byte>();
        new CancelRequest(key.ProcessId, key.SecretKey).WriteTo(packet);
        await socket.SendAsync(packet.WrittenMemory);
        using var closed = new CancellationTokenSource(Quickly);
        var read = await socket.ReceiveAsync(new byte[16], SocketFlags.None, closed.Token);
        Assert.Equal(0, read);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
