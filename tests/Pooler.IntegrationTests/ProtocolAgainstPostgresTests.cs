using Pooler.IntegrationTests.Infrastructure;
using Pooler.Protocol;
using Xunit;

namespace Pooler.IntegrationTests;

/// <summary>
/// Pooler.Protocol's client side against a real PostgreSQL 15: every authentication method the
/// server can ask for, simple and extended queries, and the server's own errors.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ProtocolAgainstPostgresTests(PostgresFixture postgres)
{
    private PostgresServer Server => postgres.Server;

    private Task<(WireClient Client, LoginResult Login)> LoginAs(TestUser user, string? password = null) =>
        WireClient.LoginAsync(Server.Host, Server.Port, user.Name, password ?? user.Password, TestUsers.Database);

    [Fact]
    public async Task Scram_user_logs_in_with_scram_sha_256_and_gets_session_parameters()
    {
        var (client, login) = await LoginAs(TestUsers.Scram);
        await using var _ = client;

        Assert.Equal(AuthenticationCode.Sasl, login.Method);
        Assert.Equal(TransactionStatus.Idle, login.Status);
        Assert.StartsWith("15", login.Parameters["server_version"]);
        Assert.Equal("UTF8", login.Parameters["server_encoding"]);
        Assert.NotNull(login.KeyData);
        Assert.True(login.KeyData!.ProcessId > 0);
    }

    [Fact]
    public async Task Md5_user_logs_in_with_md5()
    {
        var (client, login) = await LoginAs(TestUsers.Md5);
        await using var _ = client;

        Assert.Equal(AuthenticationCode.Md5Password, login.Method);
        var result = await client.QueryAsync("SELECT current_user");
        Assert.Equal(TestUsers.Md5.Name, result.Text(0, 0));
    }

    [Fact]
    public async Task Cleartext_user_logs_in_with_a_password_message()
    {
        var (client, login) = await LoginAs(TestUsers.Cleartext);
        await using var _ = client;

        Assert.Equal(AuthenticationCode.CleartextPassword, login.Method);
    }

    [Fact]
    public async Task Server_log_confirms_each_method_was_used()
    {
        foreach (var user in TestUsers.All)
        {
            var (client, _) = await LoginAs(user);
            await client.DisposeAsync();
        }

        var log = Server.ReadLog();
        Assert.Contains($"identity=\"{TestUsers.Scram.Name}\" method=scram-sha-256", log);
        Assert.Contains($"identity=\"{TestUsers.Md5.Name}\" method=md5", log);
        Assert.Contains($"identity=\"{TestUsers.Cleartext.Name}\" method=password", log);
    }

    [Theory]
    [InlineData("pooler_scram")]
    [InlineData("pooler_md5")]
    [InlineData("pooler_plain")]
    public async Task Wrong_password_gets_the_servers_28P01_error(string userName)
    {
        var user = TestUsers.All.Single(u => u.Name == userName);

        var error = await Assert.ThrowsAsync<ServerErrorException>(() => LoginAs(user, "not-the-password"));

        Assert.Equal(SqlState.InvalidPassword, error.Error.SqlState);
        Assert.Equal("FATAL", error.Error.SeverityNonLocalized);
        Assert.Contains("password authentication failed", error.Error.Message);
    }

    [Fact]
    public async Task Simple_query_returns_columns_rows_and_command_tag()
    {
        var (client, _) = await LoginAs(TestUsers.Scram);
        await using var _c = client;

        var result = await client.QueryAsync("SELECT g AS n, 'row ' || g AS label, NULL::text AS nothing FROM generate_series(1, 3) g");

        Assert.Null(result.Error);
        var fields = Assert.Single(result.Descriptions).Fields;
        Assert.Equal(["n", "label", "nothing"], fields.Select(f => f.Name));
        Assert.Equal(TypeOids.Int4, fields[0].TypeOid);
        Assert.Equal(3, result.Rows.Count);
        Assert.Equal("2", result.Text(1, 0));
        Assert.Equal("row 3", result.Text(2, 1));
        Assert.Null(result.Text(0, 2));
        Assert.Equal(["SELECT 3"], result.CommandTags);
        Assert.Equal(TransactionStatus.Idle, result.Status);
    }

    [Fact]
    public async Task Several_statements_in_one_query_each_complete()
    {
        var (client, _) = await LoginAs(TestUsers.Scram);
        await using var _c = client;

        var result = await client.QueryAsync("CREATE TEMP TABLE t (x int); INSERT INTO t VALUES (1), (2); SELECT sum(x) FROM t");

        Assert.Equal(["CREATE TABLE", "INSERT 0 2", "SELECT 1"], result.CommandTags);
        Assert.Equal("3", result.Text(0, 0));
    }

    [Fact]
    public async Task Bad_query_gets_a_real_error_response_and_the_connection_stays_usable()
    {
        var (client, _) = await LoginAs(TestUsers.Scram);
        await using var _c = client;

        var bad = await client.QueryAsync("SELEC 1");
        var missing = await client.QueryAsync("SELECT * FROM no_such_table");
        var good = await client.QueryAsync("SELECT 42");

        Assert.Equal("42601", bad.Error?.SqlState);
        Assert.Equal("ERROR", bad.Error?.SeverityNonLocalized);
        Assert.Equal("1", bad.Error?.Position);
        Assert.Equal("42P01", missing.Error?.SqlState);
        Assert.Contains("no_such_table", missing.Error?.Message);
        Assert.NotNull(missing.Error?.File);
        Assert.NotNull(missing.Error?.Routine);
        Assert.Equal("42", good.Text(0, 0));
    }

    [Fact]
    public async Task Ready_for_query_reports_transaction_status()
    {
        var (client, _) = await LoginAs(TestUsers.Scram);
        await using var _c = client;

        Assert.Equal(TransactionStatus.InTransaction, (await client.QueryAsync("BEGIN")).Status);
        Assert.Equal(TransactionStatus.Failed, (await client.QueryAsync("SELECT 1/0")).Status);
        Assert.Equal(TransactionStatus.Idle, (await client.QueryAsync("ROLLBACK")).Status);
    }

    [Fact]
    public async Task Extended_query_pipeline_parses_binds_and_executes_before_one_sync()
    {
        var (client, _) = await LoginAs(TestUsers.Scram);
        await using var _c = client;

        await client.SendAsync(w =>
        {
            new Parse("", "SELECT $1::int + 1", [TypeOids.Int4]).WriteTo(w);
            for (var i = 1; i <= 3; i++)
            {
                new Bind("", "", [], [System.Text.Encoding.UTF8.GetBytes(i.ToString())], []).WriteTo(w);
                new Execute("", 0).WriteTo(w);
            }
            Sync.Write(w);
        });
        var first = await client.ReadMessageAsync();
        var result = await client.ReadResultAsync();

        Assert.Equal(BackendMessageType.ParseComplete, first.Type);
        Assert.Equal(["2", "3", "4"], result.Rows.Select(r => r.GetText(0)));
        Assert.Equal(["SELECT 1", "SELECT 1", "SELECT 1"], result.CommandTags);
    }

    [Fact]
    public async Task Error_in_parse_is_reported_and_sync_recovers()
    {
        var (client, _) = await LoginAs(TestUsers.Scram);
        await using var _c = client;

        await client.SendAsync(w =>
        {
            new Parse("s1", "SELECT FROM WHERE", []).WriteTo(w);
            Sync.Write(w);
        });
        var failed = await client.ReadResultAsync();
        var after = await client.QueryAsync("SELECT 'fine'");

        Assert.Equal("42601", failed.Error?.SqlState);
        Assert.Equal("fine", after.Text(0, 0));
    }
}
