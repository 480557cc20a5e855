using System.Text;
using Pooler.Protocol;
using Xunit;

namespace Pooler.Core.Tests.Admin;

/// <summary>
/// What each SHOW returns: PgBouncer 1.18's columns exactly (names, order, type OIDs; 25 text,
/// 23 int4, 1700 numeric), and rows mapped from the backend's snapshots and configuration.
/// </summary>
public sealed class ShowCommandTests
{
    private const string Pools = "database:25 user:25 cl_active:23 cl_waiting:23 cl_active_cancel_req:23 cl_waiting_cancel_req:23 sv_active:23 sv_active_cancel:23 sv_being_canceled:23 sv_idle:23 sv_used:23 sv_tested:23 sv_login:23 maxwait:23 maxwait_us:23 pool_mode:25";
    private const string Stats = "database:25 total_xact_count:1700 total_query_count:1700 total_received:1700 total_sent:1700 total_xact_time:1700 total_query_time:1700 total_wait_time:1700 avg_xact_count:1700 avg_query_count:1700 avg_recv:1700 avg_sent:1700 avg_xact_time:1700 avg_query_time:1700 avg_wait_time:1700";
    private const string Totals = "database:25 xact_count:1700 query_count:1700 bytes_received:1700 bytes_sent:1700 xact_time:1700 query_time:1700 wait_time:1700";
    private const string Connections = "type:25 user:25 database:25 state:25 addr:25 port:23 local_addr:25 local_port:23 connect_time:25 request_time:25 wait:23 wait_us:23 close_needed:23 ptr:25 link:25 remote_pid:23 tls:25 application_name:25";

    private const string Bans = "database:25 shard:23 host:25 port:23 role:25 banned_until:25 reason:25";

    public static TheoryData<string, string> Tables => new()
    {
        { "SHOW POOLS", Pools },
        { "SHOW STATS", Stats },
        { "SHOW STATS_TOTALS", Totals },
        { "SHOW STATS_AVERAGES", Totals },
        { "SHOW CLIENTS", Connections },
        { "SHOW SERVERS", Connections },
        { "SHOW DATABASES", "name:25 host:25 port:23 database:25 force_user:25 pool_size:23 min_pool_size:23 reserve_pool:23 pool_mode:25 max_connections:23 current_connections:23 paused:23 disabled:23" },
        { "SHOW USERS", "name:25 pool_mode:25" },
        { "SHOW CONFIG", "key:25 value:25 default:25 changeable:25" },
        { "SHOW LISTS", "list:25 items:23" },
        { "SHOW VERSION", "version:25" },
        { "SHOW NODES", "node:25 status:25 roles:25 reachable:25 leader:25 up_since:25 pools:25" },
        { "SHOW POOL_PLACEMENT", "pool:25 node:25" },
        { "SHOW BANS", Bans },
        { "SHOW CLUSTER BANS", "node:25 " + Bans },
        { "SHOW CLUSTER POOLS", "node:25 " + Pools },
        { "SHOW CLUSTER STATS", "node:25 " + Stats },
        { "SHOW CLUSTER STATS_TOTALS", "node:25 " + Totals },
        { "SHOW CLUSTER STATS_AVERAGES", "node:25 " + Totals },
        { "SHOW CLUSTER CLIENTS", "node:25 " + Connections },
        { "SHOW CLUSTER SERVERS", "node:25 " + Connections },
    };

    [Theory]
    [MemberData(nameof(Tables))]
    public async Task Every_show_returns_pgbouncer_columns_and_rows_that_fill_them(string command, string columns)
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var table = await client.ShowAsync(command);

        Assert.Equal(columns, table.Columns);
        Assert.NotEmpty(table.Rows);
        Assert.All(table.Rows, row => Assert.Equal(table.Description.Fields.Count, row.Values.Count));
    }

    [Fact]
    public async Task Show_pools_has_a_row_per_pool_and_user_and_splits_maxwait_into_seconds_and_microseconds()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var pools = await client.ShowAsync("SHOW POOLS");

        Assert.Equal(["app/app", "app/reporter"], pools.Rows.Select(r => $"{r.GetText(0)}/{r.GetText(1)}"));
        var app = pools.Rows[0];
        Assert.Equal("3", app.GetText(pools.Column("cl_active")));
        Assert.Equal("2", app.GetText(pools.Column("cl_waiting")));
        Assert.Equal("2", app.GetText(pools.Column("sv_idle")));
        Assert.Equal("0", app.GetText(pools.Column("sv_tested")));
        Assert.Equal("0", app.GetText(pools.Column("cl_active_cancel_req")));
        Assert.Equal("2", app.GetText(pools.Column("maxwait")));
        Assert.Equal("500001", app.GetText(pools.Column("maxwait_us")));
        Assert.Equal("transaction", app.GetText(pools.Column("pool_mode")));
    }

    [Fact]
    public async Task Show_stats_sums_the_users_of_a_database_and_weights_average_times_by_their_rates()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var stats = await client.ShowAsync("SHOW STATS");

        var app = Assert.Single(stats.Rows);
        Assert.Equal("app", app.GetText(0));
        Assert.Equal("15", app.GetText(stats.Column("total_xact_count")));
        Assert.Equal("45", app.GetText(stats.Column("total_query_count")));
        Assert.Equal("1050", app.GetText(stats.Column("total_received")));
        Assert.Equal("120", app.GetText(stats.Column("total_wait_time")));
        Assert.Equal("4", app.GetText(stats.Column("avg_xact_count")));
        Assert.Equal("110", app.GetText(stats.Column("avg_recv")));
        // (1000 µs × 3 xact/s + 5000 µs × 1 xact/s) / 4 xact/s
        Assert.Equal("2000", app.GetText(stats.Column("avg_xact_time")));
        // (200 × 12 + 400 × 4) / 16
        Assert.Equal("250", app.GetText(stats.Column("avg_query_time")));
    }

    [Fact]
    public async Task Show_stats_totals_and_averages_split_show_stats()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var totals = await client.ShowAsync("SHOW STATS_TOTALS");
        var averages = await client.ShowAsync("SHOW STATS_AVERAGES");

        Assert.Equal(["app", "15", "45", "1050", "2060", "570", "480", "120"], totals.Rows.Single().Values.Select(Text));
        Assert.Equal(["app", "4", "16", "110", "220", "2000", "250", "20"], averages.Rows.Single().Values.Select(Text));
    }

    [Fact]
    public async Task Show_clients_and_servers_name_their_links_and_format_times_as_pgbouncer()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var clients = await client.ShowAsync("SHOW CLIENTS");
        var servers = await client.ShowAsync("SHOW SERVERS");

        Assert.Equal(
            ["C", "app", "app", "active", "192.168.1.5", "50123", "10.0.0.1", "6432", "2024-05-01 12:30:00 UTC",
             "2024-05-01 12:31:02 UTC", "1", "250", "0", "c-17", "s-3", "4242", "", "psql"],
            clients.Rows[0].Values.Select(Text));
        Assert.Equal("", clients.Rows[1].GetText(clients.Column("link")));
        Assert.Equal(
            ["S", "app", "app", "active", "10.0.1.2", "5432", "10.0.0.1", "40000", "2024-05-01 12:00:00 UTC",
             "2024-05-01 12:00:05 UTC", "0", "0", "0", "s-3", "c-17", "9001", "", "psql"],
            servers.Rows.Single().Values.Select(Text));
    }

    [Fact]
    public async Task Show_databases_lists_each_pool_with_its_primary_and_this_nodes_connections()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var databases = await client.ShowAsync("SHOW DATABASES");

        Assert.Equal(
            ["app", "10.0.1.2", "5432", "appdb", null, "7", "1", "0", "transaction", "0", "10", "1", "0"],
            databases.Rows[0].Values.Select(Text));
        Assert.Equal(["reports", "10.0.2.1", "5432", "reportsdb", null, "3", "0", "0", "transaction", "0", "0", "0", "0"],
            databases.Rows[1].Values.Select(Text));
    }

    [Fact]
    public async Task Show_users_lists_each_user_once_without_a_mode_when_its_pools_disagree()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var users = await client.ShowAsync("SHOW USERS");

        Assert.Equal([["app", "transaction"], ["reporter", null]], users.Rows.Select(r => r.Values.Select(Text).ToArray()));
    }

    [Fact]
    public async Task Show_config_lists_general_settings_with_defaults_and_never_the_admin_password()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var messages = await client.QueryAsync("SHOW CONFIG");
        var config = Wire.Table(messages);

        Assert.DoesNotContain(messages, m => Encoding.UTF8.GetString(m.Payload).Contains(FakeAdminBackend.AdminPassword));
        Assert.Equal("********", config.Cell("admin_password", "value"));
        Assert.Equal("admin", config.Cell("admin_username", "value"));
        Assert.Equal("2500", config.Cell("connect_timeout", "value"));
        Assert.Equal("5000", config.Cell("connect_timeout", "default"));
        Assert.Equal("DISCARD ALL", config.Cell("server_reset_query", "value"));
        Assert.Equal("true", config.Cell("prepared_statements", "default"));
        Assert.Equal("60", config.Cell("ban_time", "default"));
        Assert.Equal("no", config.Cell("port", "changeable"));
        Assert.Equal("yes", config.Cell("idle_timeout", "changeable"));
    }

    [Fact]
    public async Task Show_lists_counts_pgbouncers_lists()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var lists = await client.ShowAsync("SHOW LISTS");

        Assert.Equal(
            ["databases", "users", "pools", "free_clients", "used_clients", "login_clients", "free_servers", "used_servers",
             "dns_names", "dns_zones", "dns_queries", "dns_pending"],
            lists.Rows.Select(r => r.GetText(0)));
        Assert.Equal("2", lists.Cell("databases", "items"));
        Assert.Equal("2", lists.Cell("users", "items"));
        Assert.Equal("1", lists.Cell("login_clients", "items"));
        Assert.Equal("1", lists.Cell("used_servers", "items"));
    }

    [Fact]
    public async Task Show_version_names_pooler()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var version = await client.ShowAsync("SHOW VERSION");

        Assert.Equal("Pooler 0.1.0", version.Rows.Single().GetText(0));
    }

    [Fact]
    public async Task Show_nodes_and_pool_placement_describe_the_cluster()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var nodes = await client.ShowAsync("SHOW NODES");
        var placement = await client.ShowAsync("SHOW POOL_PLACEMENT");

        Assert.Equal([FakeAdminBackend.NodeA, "Up", "pooler,dc-1", "yes", "yes", "2024-05-01 12:00:00 UTC", "app"],
            nodes.Rows[0].Values.Select(Text));
        Assert.Equal([FakeAdminBackend.NodeB, "Up", "", "no", "no", null, "reports"], nodes.Rows[1].Values.Select(Text));
        Assert.Equal([["app", FakeAdminBackend.NodeA], ["reports", ""]], placement.Rows.Select(r => r.Values.Select(Text).ToArray()));
    }

    [Fact]
    public async Task Cluster_variants_give_each_nodes_rows_after_its_name()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var pools = await client.ShowAsync("show cluster pools");

        Assert.Equal(
            [$"{FakeAdminBackend.NodeA} app/app", $"{FakeAdminBackend.NodeA} app/reporter", $"{FakeAdminBackend.NodeB} reports/reporter"],
            pools.Rows.Select(r => $"{r.GetText(0)} {r.GetText(1)}/{r.GetText(2)}"));
    }

    [Theory]
    [InlineData("SHOW CLUSTER CONFIG")]
    [InlineData("SHOW CLUSTER")]
    [InlineData("SHOW POOLS app")]
    [InlineData("SHOW MEM")]
    public async Task Shows_that_do_not_exist_are_invalid_commands(string command)
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var messages = await client.QueryAsync(command);

        Assert.Equal("EZ", Wire.Types(messages));
        Assert.Equal(SqlState.SyntaxError, Wire.Error(messages).SqlState);
    }

    private static string? Text(byte[]? value) => value is null ? null : Encoding.UTF8.GetString(value);
}
