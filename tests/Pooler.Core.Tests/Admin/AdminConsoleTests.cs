using Pooler.Core.Admin;
using Pooler.Protocol;
using Xunit;

namespace Pooler.Core.Tests.Admin;

/// <summary>The console over the simple query protocol (psql's), and the commands that act.</summary>
public sealed class AdminConsoleTests
{
    [Fact]
    public async Task A_show_answers_its_columns_rows_and_show_then_ready_for_query()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var messages = await client.QueryAsync("SHOW VERSION;");

        Assert.Equal("TDCZ", Wire.Types(messages));
        Assert.Equal(["SHOW"], Wire.Tags(messages));
        Assert.Equal((byte)TransactionStatus.Idle, messages[^1].Payload.Single());
    }

    [Fact]
    public async Task Several_commands_in_one_query_each_answer_and_share_one_ready_for_query()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var messages = await client.QueryAsync("  show version ;SHOW Users;; pause app;");

        Assert.Equal("TDCTDDCCZ", Wire.Types(messages));
        Assert.Equal(["SHOW", "SHOW", "PAUSE"], Wire.Tags(messages));
    }

    [Fact]
    public async Task An_unknown_command_is_a_syntax_error_and_the_console_goes_on()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var failed = await client.QueryAsync("SHOW POLS");
        var next = await client.QueryAsync("SHOW VERSION");

        Assert.Equal("EZ", Wire.Types(failed));
        var error = Wire.Error(failed);
        Assert.Equal(SqlState.SyntaxError, error.SqlState);
        Assert.Equal(ErrorSeverity.Error, error.Severity);
        Assert.Equal("invalid command 'SHOW POLS', use SHOW HELP;", error.Message);
        Assert.Equal("TDCZ", Wire.Types(next));
    }

    [Fact]
    public async Task An_error_stops_the_rest_of_the_query_string()
    {
        var backend = new FakeAdminBackend();
        using var client = new ConsoleClient(backend);

        var messages = await client.QueryAsync("PAUSE app; BOGUS; RESUME app");

        Assert.Equal("CEZ", Wire.Types(messages));
        Assert.Equal([(AdminCommand.Pause, "app")], backend.Calls);
    }

    [Theory]
    [InlineData("SELECT 1")]
    [InlineData("select * from pg_stat_activity")]
    [InlineData("DISCARD ALL")]
    public async Task Sql_is_refused(string sql)
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var messages = await client.QueryAsync(sql);

        Assert.Equal("EZ", Wire.Types(messages));
        Assert.Contains($"'{sql}'", Wire.Error(messages).Message);
    }

    [Fact]
    public async Task Set_commands_that_drivers_send_complete_without_rows()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var messages = await client.QueryAsync("SET application_name = 'psql; the admin'; set extra_float_digits = 3");

        Assert.Equal("CCZ", Wire.Types(messages));
        Assert.Equal(["SET", "SET"], Wire.Tags(messages));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ;  ; ")]
    public async Task An_empty_query_gets_empty_query_response(string sql)
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        Assert.Equal("IZ", Wire.Types(await client.QueryAsync(sql)));
    }

    [Fact]
    public async Task Show_help_sends_a_notice_listing_the_commands()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var messages = await client.QueryAsync("SHOW HELP");

        Assert.Equal("NCZ", Wire.Types(messages));
        var notice = NoticeResponse.Read(messages[0].Payload);
        Assert.Equal("Console usage", notice.Message);
        Assert.Contains("SHOW CLUSTER POOLS", notice.Detail);
        Assert.Contains("PAUSE [<db>]", notice.Detail);
        Assert.Equal(["SHOW"], Wire.Tags(messages));
    }

    [Theory]
    [InlineData("PAUSE app", AdminCommand.Pause, "app", "PAUSE")]
    [InlineData("pause", AdminCommand.Pause, null, "PAUSE")]
    [InlineData("RESUME app", AdminCommand.Resume, "app", "RESUME")]
    [InlineData("RECONNECT", AdminCommand.Reconnect, null, "RECONNECT")]
    [InlineData("KILL \"app\"", AdminCommand.Kill, "app", "KILL")]
    [InlineData("DISABLE reports", AdminCommand.Disable, "reports", "DISABLE")]
    [InlineData("ENABLE reports", AdminCommand.Enable, "reports", "ENABLE")]
    [InlineData("RELOAD", AdminCommand.Reload, null, "RELOAD")]
    [InlineData("reload cluster", AdminCommand.ReloadCluster, null, "RELOAD")]
    [InlineData("SHUTDOWN", AdminCommand.Shutdown, null, "SHUTDOWN")]
    public async Task Commands_that_act_run_on_the_backend_and_complete_with_their_word(
        string sql, AdminCommand command, string? database, string tag)
    {
        var backend = new FakeAdminBackend();
        using var client = new ConsoleClient(backend);

        var messages = await client.QueryAsync(sql);

        Assert.Equal("CZ", Wire.Types(messages));
        Assert.Equal([tag], Wire.Tags(messages));
        Assert.Equal([(command, database)], backend.Calls);
    }

    [Fact]
    public async Task A_failing_backend_result_becomes_an_error_response()
    {
        var backend = new FakeAdminBackend { NextResult = AdminResult.Error("55000", "pool app is already pausing") };
        using var client = new ConsoleClient(backend);

        var messages = await client.QueryAsync("PAUSE app");

        Assert.Equal("EZ", Wire.Types(messages));
        var error = Wire.Error(messages);
        Assert.Equal("55000", error.SqlState);
        Assert.Equal("pool app is already pausing", error.Message);
    }

    [Theory]
    [InlineData("KILL")]
    [InlineData("DISABLE")]
    [InlineData("ENABLE")]
    public async Task Commands_for_one_pool_need_a_database(string sql)
    {
        var backend = new FakeAdminBackend();
        using var client = new ConsoleClient(backend);

        var messages = await client.QueryAsync(sql);

        Assert.Equal("EZ", Wire.Types(messages));
        Assert.Equal(SqlState.SyntaxError, Wire.Error(messages).SqlState);
        Assert.Contains("needs a database", Wire.Error(messages).Message);
        Assert.Empty(backend.Calls);
    }

    [Theory]
    [InlineData("PAUSE nope")]
    [InlineData("KILL App")]
    public async Task A_database_that_is_no_pool_is_refused_before_the_backend_sees_it(string sql)
    {
        var backend = new FakeAdminBackend();
        using var client = new ConsoleClient(backend);

        var messages = await client.QueryAsync(sql);

        var error = Wire.Error(messages);
        Assert.Equal(SqlState.InvalidCatalogName, error.SqlState);
        Assert.Equal($"no such database: {sql.Split(' ')[1]}", error.Message);
        Assert.Empty(backend.Calls);
    }

    [Theory]
    [InlineData("PAUSE app reports")]
    [InlineData("SHUTDOWN now")]
    [InlineData("RELOAD everything")]
    public async Task Extra_words_make_an_invalid_command(string sql)
    {
        var backend = new FakeAdminBackend();
        using var client = new ConsoleClient(backend);

        var error = Wire.Error(await client.QueryAsync(sql));

        Assert.StartsWith("invalid command", error.Message);
        Assert.Empty(backend.Calls);
    }

    [Fact]
    public async Task A_backend_that_fails_costs_one_command_not_the_console()
    {
        var backend = new FakeAdminBackend { Failure = new TimeoutException("node B did not answer") };
        using var client = new ConsoleClient(backend);

        var failed = await client.QueryAsync("SHOW CLUSTER POOLS");
        backend.Failure = null;
        var next = await client.QueryAsync("SHOW POOLS");

        Assert.Equal(SqlState.InternalError, Wire.Error(failed).SqlState);
        Assert.Contains("node B did not answer", Wire.Error(failed).Message);
        Assert.Matches("^TD+CZ$", Wire.Types(next));
    }

    [Fact]
    public async Task Terminate_ends_the_console()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        await client.SendAsync(Terminate.Write);

        await client.AssertEndedAsync();
    }

    [Fact]
    public async Task A_client_that_disconnects_ends_the_console()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());
        await client.QueryAsync("SHOW VERSION");

        await client.DisconnectAsync();

        await client.AssertEndedAsync();
    }

    [Fact]
    public async Task Cancellation_ends_the_console_quietly()
    {
        using var stop = new CancellationTokenSource();
        using var client = new ConsoleClient(new FakeAdminBackend(), stop.Token);

        await stop.CancelAsync();

        await client.AssertEndedAsync();
    }

    [Fact]
    public async Task A_message_the_console_does_not_take_is_a_fatal_protocol_violation()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        await client.SendAsync(output => new CopyData("1\n"u8.ToArray()).WriteTo(output));

        var error = ErrorResponse.Read((await client.ReadAsync()).Payload);
        Assert.Equal(ErrorSeverity.Fatal, error.Severity);
        Assert.Equal(SqlState.ProtocolViolation, error.SqlState);
        await client.AssertEndedAsync();
    }
}
