using System.Net;
using System.Net.Sockets;
using Pooler.IntegrationTests.Infrastructure;
using Pooler.Protocol;
using Xunit;

namespace Pooler.IntegrationTests;

/// <summary>The <c>pooler</c> executable as an operator meets it: command line, start-up, bad configs.</summary>
public sealed class PoolerProcessTests : IDisposable
{
    private readonly TestConfig _config = new();

    public void Dispose() => _config.Dispose();

    [Fact]
    public async Task Help_prints_usage_and_exits_zero()
    {
        var result = await PoolerProcess.RunToExitAsync("--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Usage: pooler --config FILE", result.StdOut);
    }

    [Fact]
    public async Task Version_prints_the_version_and_exits_zero()
    {
        var result = await PoolerProcess.RunToExitAsync("--version");

        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^pooler \d+\.\d+\.\d+\s*$", result.StdOut);
    }

    [Fact]
    public async Task Missing_config_argument_is_a_usage_error()
    {
        var result = await PoolerProcess.RunToExitAsync();

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("pooler: --config FILE is required (see pooler --help)", result.StdErr.Trim());
    }

    [Fact]
    public async Task Bad_config_stops_with_one_line_naming_file_line_and_key()
    {
        var path = _config.WriteText("""
            [general]
            port = 6432

            [pools.app]
            pool_mode = "transaction"

            [pools.app.shards.0]
            servers = [["127.0.0.1", 5432, "primary"]]
            database = "app"

            [pools.app.users.0]
            username = "app"
            password = "secret"
            pool_size = 0
            """, "bad.toml");

        var result = await PoolerProcess.RunToExitAsync("--config", path);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"pooler: {path}:14: pools.app.users.0.pool_size:", line);
        Assert.Equal("", result.StdOut);
    }

    [Fact]
    public async Task Unknown_key_stops_with_one_line()
    {
        var path = _config.WriteText("""
            [general]
            prot = 6432
            """, "typo.toml");

        var result = await PoolerProcess.RunToExitAsync("--config", path);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"pooler: {path}:2: general.prot:", line);
    }

    [Fact]
    public async Task Missing_config_file_stops_with_one_line()
    {
        var result = await PoolerProcess.RunToExitAsync("--config", "/nonexistent/pooler.toml");

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("/nonexistent/pooler.toml", line);
    }

    [Fact]
    public async Task Port_in_use_stops_with_one_line_naming_the_address_and_key()
    {
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new IPEndPoint(IPAddress.Loopback, _config.ClientPort));
        squatter.Listen();

        var result = await PoolerProcess.RunToExitAsync("--config", _config.Write());

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(
            $"pooler: cannot listen on 127.0.0.1:{_config.ClientPort} (general.port): address already in use; " +
            "stop the program holding it or change general.port", line);
    }

    [Fact]
    public async Task Check_prints_what_would_be_served_without_passwords()
    {
        var result = await PoolerProcess.RunToExitAsync("--config", _config.Write(), "--check");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"pool '{TestUsers.Database}': transaction mode; users {TestUsers.Scram.Name} (pool_size 2)", result.StdOut);
        Assert.Contains("configuration is valid", result.StdOut);
        Assert.DoesNotContain(TestUsers.Scram.Password, result.StdOut);
        Assert.DoesNotContain("admin-secret-pw", result.StdOut);
    }

    [Fact]
    public async Task Valid_config_starts_a_one_node_cluster_and_stops_cleanly_on_sigterm()
    {
        await using var pooler = PoolerProcess.Start("--config", _config.Write());

        await pooler.WaitForLineAsync($"pool '{TestUsers.Database}': transaction mode");
        await pooler.WaitForLineAsync("is Up");
        await pooler.WaitForLineAsync("ready: accepting clients");
        Assert.Equal(0, await pooler.StopAsync());
        Assert.DoesNotContain(TestUsers.Scram.Password, pooler.Output);
    }

    [Fact]
    public async Task Client_gets_08006_with_the_reason_when_postgres_is_down_and_ssl_is_refused_first()
    {
        await using var pooler = PoolerProcess.Start("--config", _config.Write());
        await pooler.WaitForLineAsync("ready: accepting clients");
        await using var client = await WireClient.ConnectAsync("127.0.0.1", _config.ClientPort);

        // libpq asks for TLS first; Pooler answers 'N' and the client goes on in plain text.
        await client.SendAsync(SslRequest.Write);
        var answer = new byte[1];
        await client.ReceiveExactAsync(answer);
        var error = await Assert.ThrowsAsync<ServerErrorException>(() =>
            client.StartupAsync(TestUsers.Scram.Name, TestUsers.Scram.Password, TestUsers.Database));

        Assert.Equal((byte)'N', answer[0]);
        Assert.Equal(SqlState.ConnectionFailure, error.Error.SqlState);
        Assert.Equal("FATAL", error.Error.Severity);
        Assert.Contains("could not connect to server 127.0.0.1:", error.Error.Message);
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task Malformed_startup_packet_gets_a_protocol_violation_and_the_node_carries_on()
    {
        await using var pooler = PoolerProcess.Start("--config", _config.Write());
        await pooler.WaitForLineAsync("ready: accepting clients");

        await using (var bad = await WireClient.ConnectAsync("127.0.0.1", _config.ClientPort))
        {
            await bad.SendRawAsync(new byte[] { 0, 0, 0, 2, 0, 3, 0, 0 }); // length 2 is below the minimum
            var message = await bad.ReadMessageAsync();
            var error = ErrorResponse.Read(message.Payload);
            Assert.Equal(SqlState.ProtocolViolation, error.SqlState);
            Assert.Contains("below the minimum", error.Message);
            Assert.True(await bad.IsClosedByServerAsync());
        }

        // The next client is served as usual: it gets as far as the (absent) PostgreSQL.
        await using var good = await WireClient.ConnectAsync("127.0.0.1", _config.ClientPort);
        var refused = await Assert.ThrowsAsync<ServerErrorException>(() =>
            good.StartupAsync(TestUsers.Scram.Name, TestUsers.Scram.Password, TestUsers.Database));
        Assert.Equal(SqlState.ConnectionFailure, refused.Error.SqlState);
    }

    [Fact]
    public async Task A_server_that_never_answers_the_login_fails_after_connect_timeout()
    {
        // A listener that accepts connections and never says a word: a hung PostgreSQL.
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        silent.Listen();
        var silentPort = ((IPEndPoint)silent.LocalEndPoint!).Port;
        var path = _config.Write(serverPort: silentPort, general: "connect_timeout = 300");
        await using var pooler = PoolerProcess.Start("--config", path);
        await pooler.WaitForLineAsync("ready: accepting clients");
        await using var client = await WireClient.ConnectAsync("127.0.0.1", _config.ClientPort);

        var error = await Assert.ThrowsAsync<ServerErrorException>(() =>
            client.StartupAsync(TestUsers.Scram.Name, TestUsers.Scram.Password, TestUsers.Database));

        Assert.Equal(SqlState.ConnectionFailure, error.Error.SqlState);
        Assert.Contains("connect_timeout", error.Error.Message);
    }
}
