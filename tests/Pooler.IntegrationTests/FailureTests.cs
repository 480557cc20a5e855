using System.Buffers.Binary;
using System.Diagnostics;
using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Pooler.Protocol;
using Xunit;

namespace Pooler.IntegrationTests;

/// <summary>
/// What a client sees when something goes wrong (issue 3, point 8; DESIGN.md invariants 2 and 3):
/// the right SQLSTATE, a message that says what to do, and every other client carrying on.
/// </summary>
public sealed class FailureTests(FailureFixture fixture) : IClassFixture<FailureFixture>
{
    private PoolerNode Pooler => fixture.Pooler;

    [Fact]
    public async Task Client_over_max_client_conn_gets_53300_and_the_clients_already_in_carry_on()
    {
        await using var pooler = await PoolerNode.StartAsync(fixture.Server, "transaction", 3, "max_client_conn = 3");
        await using var bystander = await Bystander.ConnectAsync(pooler);
        await using var second = await pooler.OpenAsync();
        var third = await pooler.OpenAsync();

        await using var fourth = new NpgsqlConnection(pooler.ConnectionString());
        var error = await Assert.ThrowsAsync<PostgresException>(() => fourth.OpenAsync());

        Assert.Equal("53300", error.SqlState);
        Assert.Contains("max_client_conn", error.MessageText);
        await bystander.AssertStillServedAsync();

        // Once a client leaves, its place is free again.
        await third.DisposeAsync();
        await using var later = await OpenWithinAsync(pooler, TimeSpan.FromSeconds(10));
        Assert.Equal(1, await ScalarAsync<int>(later, "SELECT 1"));
    }

    [Fact]
    public async Task Message_longer_than_max_message_size_gets_08P01_and_that_client_is_disconnected()
    {
        await using var bystander = await Bystander.ConnectAsync(Pooler);
        var (client, _) = await LoginRawAsync();
        await using var _ = client;

        // A Query header that announces 2 MiB, followed by the start of its text: the pooler must
        // refuse it from the header alone, without reading (or buffering) the rest.
        var header = new byte[5 + 1024];
        header[0] = FrontendMessageType.Query;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(1), 2 * FailureFixture.MaxMessageSize);
        header.AsSpan(5).Fill((byte)'x');
        await client.SendRawAsync(header);

        var error = await ReadErrorAsync(client);
        Assert.Equal(SqlState.ProtocolViolation, error.SqlState);
        Assert.Equal("FATAL", error.SeverityNonLocalized);
        Assert.Contains("max_message_size", error.Message);
        Assert.True(await IsClosedSoonAsync(client));
        await bystander.AssertStillServedAsync();
    }

    [Fact]
    public async Task Message_with_a_length_below_four_gets_08P01_and_that_client_is_disconnected()
    {
        await using var bystander = await Bystander.ConnectAsync(Pooler);
        var (client, _) = await LoginRawAsync();
        await using var _ = client;

        await client.SendRawAsync(new byte[] { FrontendMessageType.Query, 0, 0, 0, 2, 0 });

        var error = await ReadErrorAsync(client);
        Assert.Equal(SqlState.ProtocolViolation, error.SqlState);
        Assert.Equal("FATAL", error.SeverityNonLocalized);
        Assert.True(await IsClosedSoonAsync(client));
        await bystander.AssertStillServedAsync();
    }

    [Fact]
    public async Task Client_that_sends_nothing_is_disconnected_after_client_login_timeout()
    {
        await using var bystander = await Bystander.ConnectAsync(Pooler);
        await using var silent = await WireClient.ConnectAsync(Pooler.Host, Pooler.Port);
        var watch = Stopwatch.StartNew();

        var (error, closed) = await ReadUntilClosedAsync(silent, TimeSpan.FromSeconds(15));

        Assert.True(closed, "the silent client was still connected 15 s later");
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(FailureFixture.ClientLoginTimeoutMs * 0.9),
            $"disconnected after {watch.Elapsed}, before client_login_timeout ({FailureFixture.ClientLoginTimeoutMs} ms)");
        if (error is not null)
        {
            Assert.Equal(SqlState.ProtocolViolation, error.SqlState);
            Assert.Contains("client_login_timeout", error.Message);
        }
        await bystander.AssertStillServedAsync();
    }

    [Fact]
    public async Task Client_that_stops_halfway_through_login_is_disconnected_after_client_login_timeout()
    {
        await using var bystander = await Bystander.ConnectAsync(Pooler);
        await using var stuck = await WireClient.ConnectAsync(Pooler.Host, Pooler.Port);
        var watch = Stopwatch.StartNew();

        // The startup packet, then silence where the password should be.
        await stuck.SendAsync(w => StartupMessage.Create(TestUsers.Scram.Name, TestUsers.Database).WriteTo(w));
        var challenge = await stuck.ReadMessageAsync();
        Assert.Equal(BackendMessageType.Authentication, challenge.Type);
        var (error, closed) = await ReadUntilClosedAsync(stuck, TimeSpan.FromSeconds(15));

        Assert.True(closed, "the client that never answered the password request was still connected 15 s later");
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(FailureFixture.ClientLoginTimeoutMs * 0.9),
            $"disconnected after {watch.Elapsed}, before client_login_timeout");
        if (error is not null)
            Assert.Contains("client_login_timeout", error.Message);
        await bystander.AssertStillServedAsync();
    }

    [Fact]
    public async Task Query_waiting_longer_than_query_wait_timeout_gets_an_error_that_says_what_to_do()
    {
        await using var pooler = await PoolerNode.StartAsync(fixture.Server, "transaction", 1, "query_wait_timeout = 1000");
        await using var bystander = await Bystander.ConnectAsync(pooler);
        await using var holder = await pooler.OpenAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        Assert.Equal(1, await ScalarAsync<int>(holder, "SELECT 1", transaction));

        await using var waiter = await pooler.OpenAsync();
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync<int>(waiter, "SELECT 2"));
        var waited = watch.Elapsed;

        Assert.Equal("53300", error.SqlState);
        Assert.Contains("query_wait_timeout", error.MessageText);
        Assert.Contains("pool_size", error.MessageText);
        Assert.True(waited >= TimeSpan.FromMilliseconds(900), $"the error came after {waited}, before query_wait_timeout");
        Assert.True(waited < TimeSpan.FromSeconds(10), $"the error came only after {waited}");
        await pooler.Process.WaitForLineAsync("query_wait_timeout"); // the log is written asynchronously

        // The client holding the only server connection never noticed, and neither did the others.
        Assert.Equal(3, await ScalarAsync<int>(holder, "SELECT 3", transaction));
        await transaction.CommitAsync();
        await bystander.AssertStillServedAsync();
        await using var next = await pooler.OpenAsync();
        Assert.Equal(4, await ScalarAsync<int>(next, "SELECT 4"));
    }

    [Fact]
    public async Task PostgreSQL_down_gives_08006_naming_the_server_and_the_pooler_serves_again_once_it_is_back()
    {
        await using var server = await PostgresServer.StartAsync();
        await using var pooler = await PoolerNode.StartAsync(server, "transaction", 3);
        await using var bystander = await Bystander.ConnectAsync(pooler);

        await server.StopFastAsync();

        var down = await Assert.ThrowsAsync<PostgresException>(() => OpenAndQueryAsync(pooler));
        Assert.Equal("08006", down.SqlState);
        Assert.Contains($"{server.Host}:{server.Port}", down.MessageText);
        var stillDown = await Assert.ThrowsAsync<PostgresException>(() => OpenAndQueryAsync(pooler));
        Assert.Equal("08006", stillDown.SqlState);
        Assert.False(pooler.Process.Exited.IsCompleted, $"the pooler exited:\n{pooler.Process.Output}");

        await server.StartAgainAsync();

        Assert.Equal(1, await OpenAndQueryWithinAsync(pooler, TimeSpan.FromSeconds(5)));
        await bystander.AssertStillServedAsync();
    }

    [Fact]
    public async Task Server_connection_lost_mid_transaction_fails_that_transaction_and_the_next_one_works()
    {
        await using var bystander = await Bystander.ConnectAsync(Pooler);
        var connection = await Pooler.OpenAsync();
        try
        {
            int killedPid;
            await using (var transaction = await connection.BeginTransactionAsync())
            {
                killedPid = await ScalarAsync<int>(connection, "SELECT pg_backend_pid()", transaction);
                await fixture.Server.TerminateBackendAsync(killedPid);

                var error = await Assert.ThrowsAnyAsync<NpgsqlException>(() =>
                    ScalarAsync<int>(connection, "SELECT 1", transaction));
                Assert.True(error is PostgresException { SqlState: "57P01" or "40003" } || error is not PostgresException,
                    $"unexpected error: {error}");
            }

            if (connection.State != System.Data.ConnectionState.Open)
            {
                await connection.DisposeAsync();
                connection = await Pooler.OpenAsync();
            }
            await using (var again = await connection.BeginTransactionAsync())
            {
                var pid = await ScalarAsync<int>(connection, "SELECT pg_backend_pid()", again);
                Assert.NotEqual(killedPid, pid);
                Assert.Equal(5, await ScalarAsync<int>(connection, "SELECT 5", again));
                await again.CommitAsync();
            }
            await bystander.AssertStillServedAsync();
        }
        finally
        {
            await connection.DisposeAsync();
        }
    }

    [Fact]
    public async Task Client_gone_mid_transaction_leaves_nothing_committed_and_no_connection_idle_in_transaction()
    {
        await using var bystander = await Bystander.ConnectAsync(Pooler);
        await bystander.ExecuteAsync("CREATE TABLE IF NOT EXISTS gone_client (note text)");
        var (client, _) = await LoginRawAsync();

        var answer = await client.QueryAsync("BEGIN; INSERT INTO gone_client VALUES ('never committed'); SELECT pg_backend_pid()");
        Assert.Null(answer.Error);
        Assert.Equal(TransactionStatus.InTransaction, answer.Status);
        var pid = int.Parse(answer.Text(0, 0)!);
        client.Abort();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        int idleInTransaction;
        while ((idleInTransaction = await fixture.Server.IdleInTransactionAsync()) > 0 && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.True(idleInTransaction == 0,
            $"backend {pid} of the vanished client is still idle in transaction:\n{Pooler.Process.Output}");
        Assert.Equal(0L, await bystander.ScalarAsync<long>("SELECT count(*) FROM gone_client"));
        await bystander.AssertStillServedAsync();
    }

    [Fact]
    public async Task Unknown_user_in_a_known_pool_gets_28P01_like_a_wrong_password()
    {
        await using var bystander = await Bystander.ConnectAsync(Pooler);
        var stranger = new TestUser("no_such_user", "some-password", "scram-sha-256");
        var wrongPassword = TestUsers.Scram with { Password = "not-the-password" };

        await using var unknown = new NpgsqlConnection(Pooler.ConnectionString(stranger));
        var unknownError = await Assert.ThrowsAsync<PostgresException>(() => unknown.OpenAsync());
        await using var wrong = new NpgsqlConnection(Pooler.ConnectionString(wrongPassword));
        var wrongError = await Assert.ThrowsAsync<PostgresException>(() => wrong.OpenAsync());

        Assert.Equal("28P01", unknownError.SqlState);
        Assert.Equal(wrongError.SqlState, unknownError.SqlState);
        Assert.Equal(wrongError.Severity, unknownError.Severity);
        // Same wording, only the name differs: the answer does not tell who exists.
        Assert.Equal(wrongError.MessageText.Replace(TestUsers.Scram.Name, stranger.Name), unknownError.MessageText);

        // Like a known user, the stranger is asked for a password before being refused.
        await using var raw = await WireClient.ConnectAsync(Pooler.Host, Pooler.Port);
        await raw.SendAsync(w => StartupMessage.Create(stranger.Name, TestUsers.Database).WriteTo(w));
        var first = await raw.ReadMessageAsync();
        Assert.Equal(BackendMessageType.Authentication, first.Type);
        await bystander.AssertStillServedAsync();
    }

    private Task<(WireClient Client, LoginResult Login)> LoginRawAsync() =>
        WireClient.LoginAsync(Pooler.Host, Pooler.Port, TestUsers.Scram.Name, TestUsers.Scram.Password, TestUsers.Database);

    private static async Task<ErrorResponse> ReadErrorAsync(WireClient client)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            var message = await client.ReadMessageAsync(deadline.Token);
            if (message.Type == BackendMessageType.ErrorResponse)
                return ErrorResponse.Read(message.Payload);
            if (message.Type == BackendMessageType.ReadyForQuery)
                throw new Xunit.Sdk.XunitException("the pooler answered with ReadyForQuery instead of an error");
        }
    }

    private static async Task<bool> IsClosedSoonAsync(WireClient client)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            return await client.IsClosedByServerAsync(deadline.Token);
        }
        catch (System.Net.Sockets.SocketException)
        {
            return true; // reset rather than closed: gone all the same
        }
    }

    /// <summary>Reads until the server closes the connection (or the deadline), keeping the last error seen.</summary>
    private static async Task<(ErrorResponse? Error, bool Closed)> ReadUntilClosedAsync(WireClient client, TimeSpan limit)
    {
        using var deadline = new CancellationTokenSource(limit);
        ErrorResponse? error = null;
        try
        {
            while (true)
            {
                var message = await client.ReadMessageAsync(deadline.Token);
                if (message.Type == BackendMessageType.ErrorResponse)
                    error = ErrorResponse.Read(message.Payload);
            }
        }
        catch (EndOfStreamException)
        {
            return (error, true);
        }
        catch (System.Net.Sockets.SocketException)
        {
            return (error, true);
        }
        catch (OperationCanceledException)
        {
            return (error, false);
        }
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, NpgsqlTransaction? transaction = null)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<int> OpenAndQueryAsync(PoolerNode pooler)
    {
        await using var connection = await pooler.OpenAsync();
        return await ScalarAsync<int>(connection, "SELECT 1");
    }

    /// <summary>Tries a new client until one works, giving the pooler up to <paramref name="limit"/> to reconnect.</summary>
    private static async Task<int> OpenAndQueryWithinAsync(PoolerNode pooler, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            try
            {
                return await OpenAndQueryAsync(pooler);
            }
            catch (NpgsqlException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task<NpgsqlConnection> OpenWithinAsync(PoolerNode pooler, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            try
            {
                return await pooler.OpenAsync();
            }
            catch (PostgresException e) when (e.SqlState == "53300" && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>A client that was connected (and served) before something went wrong for another one.</summary>
    private sealed class Bystander : IAsyncDisposable
    {
        private readonly NpgsqlConnection _connection;

        private Bystander(NpgsqlConnection connection) => _connection = connection;

        public static async Task<Bystander> ConnectAsync(PoolerNode pooler)
        {
            var bystander = new Bystander(await pooler.OpenAsync());
            await bystander.AssertStillServedAsync();
            return bystander;
        }

        public async Task AssertStillServedAsync()
        {
            Assert.Equal("still here", await ScalarAsync<string>("SELECT 'still here'"));
        }

        public Task<T> ScalarAsync<T>(string sql) => FailureTests.ScalarAsync<T>(_connection, sql);

        public async Task ExecuteAsync(string sql)
        {
            await using var command = new NpgsqlCommand(sql, _connection);
            await command.ExecuteNonQueryAsync();
        }

        public ValueTask DisposeAsync() => _connection.DisposeAsync();
    }
}
