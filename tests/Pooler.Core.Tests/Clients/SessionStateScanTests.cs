using Pooler.Core.Clients;
using Xunit;

namespace Pooler.Core.Tests.Clients;

public sealed class SessionStateScanTests
{
    [Theory]
    [InlineData("LISTEN orders", "LISTEN")]
    [InlineData("begin; listen orders; commit", "LISTEN")]
    [InlineData("PREPARE q(int) AS SELECT $1", "PREPARE")]
    [InlineData("CREATE TEMP TABLE t (x int)", "a temporary table")]
    [InlineData("create global temporary table t (x int)", "a temporary table")]
    [InlineData("DECLARE c CURSOR WITH HOLD FOR SELECT 1", "a WITH HOLD cursor")]
    [InlineData("SELECT pg_advisory_lock(1)", "a session-level advisory lock")]
    [InlineData("select PG_TRY_ADVISORY_LOCK_SHARED(1, 2)", "a session-level advisory lock")]
    public void State_kept_on_the_server_connection_pins_the_client(string sql, string reason) =>
        Assert.Equal(reason, SessionStateScan.Read(sql).PinReason);

    [Theory]
    [InlineData("SELECT 'LISTEN x'")]
    [InlineData("SELECT 1 -- listen later")]
    [InlineData("UNLISTEN *")]
    [InlineData("PREPARE TRANSACTION 'x'")]
    [InlineData("CREATE TEMP TABLE t (x int) ON COMMIT DROP")]
    [InlineData("DECLARE c CURSOR FOR SELECT 1")]
    [InlineData("SELECT pg_advisory_xact_lock(1)")]
    [InlineData("SELECT pg_advisory_unlock_all()")]
    [InlineData("SELECT \"listen\" FROM t")]
    [InlineData("SELECT $$ pg_advisory_lock( $$")]
    public void Statements_that_leave_nothing_behind_do_not_pin(string sql) =>
        Assert.Null(SessionStateScan.Read(sql).PinReason);

    [Theory]
    [InlineData("SET search_path TO app, public", "app, public")]
    [InlineData("set session search_path = 'app', \"Other\"", "app, \"Other\"")]
    [InlineData("SET search_path TO app;", "app")]
    public void A_session_search_path_is_read_from_the_statement(string sql, string value)
    {
        var scan = SessionStateScan.Read(sql);
        Assert.Equal(SearchPathChange.Set, scan.SearchPath);
        Assert.Equal(value, scan.SearchPathValue);
    }

    [Theory]
    [InlineData("RESET search_path", SearchPathChange.Reset)]
    [InlineData("SET search_path TO DEFAULT", SearchPathChange.Reset)]
    [InlineData("DISCARD ALL", SearchPathChange.Reset)]
    [InlineData("SET LOCAL search_path TO app", SearchPathChange.None)]
    [InlineData("SELECT set_config('search_path', 'x', true)", SearchPathChange.None)]
    [InlineData("SET search_path TO app || 'x'", SearchPathChange.None)]
    public void Other_search_path_statements(string sql, SearchPathChange change) =>
        Assert.Equal(change, SessionStateScan.Read(sql).SearchPath);

    [Fact]
    public void Utf8_text_with_a_trailing_nul_is_read_like_the_string() =>
        Assert.Equal("LISTEN", SessionStateScan.Read("  LISTEN é\0"u8).PinReason);
}

public sealed class StatementCommandTests
{
    [Theory]
    [InlineData("DEALLOCATE s1", StatementCommandKind.Deallocate, "s1")]
    [InlineData("deallocate prepare S1;", StatementCommandKind.Deallocate, "s1")]
    [InlineData("DEALLOCATE \"Mixed\"\"Q\"", StatementCommandKind.Deallocate, "Mixed\"Q")]
    [InlineData("DEALLOCATE ALL", StatementCommandKind.DropAll, null)]
    [InlineData("/* c */ discard all", StatementCommandKind.DropAll, null)]
    [InlineData("DISCARD PLANS", StatementCommandKind.Other, null)]
    [InlineData("DEALLOCATE s1; SELECT 1", StatementCommandKind.Other, null)]
    [InlineData("SELECT 'DEALLOCATE ALL'", StatementCommandKind.Other, null)]
    public void Reads_the_statements_that_drop_prepared_statements(string sql, StatementCommandKind kind, string? name)
    {
        var command = StatementCommand.Read(System.Text.Encoding.UTF8.GetBytes(sql + "\0"));
        Assert.Equal(kind, command.Kind);
        Assert.Equal(name, command.Name);
    }
}
