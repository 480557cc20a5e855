using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Pooler.IntegrationTests;

/// <summary>A pooler of its own for the admin console tests: they pause, reload and kill its pool.</summary>
public sealed class AdminConsoleFixture : PoolerFixture
{
    protected override string PoolMode => "transaction";
    protected override int PoolSize => 5;
}

/// <summary>
/// The admin console as an operator uses it: psql and Npgsql on the virtual database
/// <c>pgbouncer</c>, PgBouncer's SHOW commands and columns, PAUSE/RESUME, RELOAD, DISABLE, KILL.
/// </summary>
public sealed class AdminConsoleTests(AdminConsoleFixture fixture, ITestOutputHelper output) : IClassFixture<AdminConsoleFixture>
{
    private const string AdminUser = AdminConsole.User;
    private const string AdminPassword = AdminConsole.Password;

    private PoolerNode Pooler => fixture.Pooler;

    public static TheoryData<string, string> ShowCommands => new()
    {
        { "SHOW POOLS", "database|user|cl_active|cl_waiting|cl_active_cancel_req|cl_waiting_cancel_req|sv_active|sv_active_cancel|sv_being_canceled|sv_idle|sv_used|sv_tested|sv_login|maxwait|maxwait_us|pool_mode" },
        { "SHOW STATS", "database|total_xact_count|total_query_count|total_received|total_sent|total_xact_time|total_query_time|total_wait_time|avg_xact_count|avg_query_count|avg_recv|avg_sent|avg_xact_time|avg_query_time|avg_wait_time" },
        { "SHOW STATS_TOTALS", "database|xact_count|query_count|bytes_received|bytes_sent|xact_time|query_time|wait_time" },
        { "SHOW STATS_AVERAGES", "database|xact_count|query_count|bytes_received|bytes_sent|xact_time|query_time|wait_time" },
        { "SHOW CLIENTS", "type|user|database|state|addr|port|local_addr|local_port|connect_time|request_time|wait|wait_us|close_needed|ptr|link|remote_pid|tls|application_name" },
        { "SHOW SERVERS", "type|user|database|state|addr|port|local_addr|local_port|connect_time|request_time|wait|wait_us|close_needed|ptr|link|remote_pid|tls|application_name" },
        { "SHOW DATABASES", "name|host|port|database|force_user|pool_size|min_pool_size|reserve_pool|pool_mode|max_connections|current_connections|paused|disabled" },
        { "SHOW USERS", "name|pool_mode" },
        { "SHOW CONFIG", "key|value|default|changeable" },
        { "SHOW LISTS", "list|items" },
        { "SHOW VERSION", "version" },
        { "SHOW NODES", "node|status|roles|reachable|leader|up_since|pools" },
        { "SHOW POOL_PLACEMENT", "pool|node" },
        { "SHOW BANS", "database|shard|host|port|role|banned_until|reason" },
    };

    [Theory]
    [MemberData(nameof(ShowCommands))]
    public async Task Psql_gets_pgbouncers_columns_for_every_show_command(string command, string columns)
    {
        var result = await PsqlAsync(AdminUser, AdminPassword, command);

        Assert.True(result.ExitCode == 0, $"psql exited with {result.ExitCode}: {result.Output}\n{Pooler.Process.Output}");
        Assert.Equal(columns, result.StdOut.Split('\n')[0].Trim());
    }

    [Fact]
    public async Task Npgsql_reads_pools_and_stats_that_count_the_transactions_run()
    {
        await using (var client = await TestUsers.OpenAsync(Pooler.Host, Pooler.Port))
            for (var i = 0; i < 5; i++)
            {
                await using var command = new NpgsqlCommand("SELECT 1", client);
                await command.ExecuteScalarAsync();
            }

        await using var admin = await OpenAdminAsync();
        var pools = await QueryAsync(admin, "SHOW POOLS");
        Assert.Equal("database", pools.Columns[0]);
        var pool = Assert.Single(pools.Rows, r => r["database"] == TestUsers.Database && r["user"] == TestUsers.Scram.Name);
        Assert.Equal("transaction", pool["pool_mode"]);
        Assert.True(int.Parse(pool["sv_idle"]!) + int.Parse(pool["sv_active"]!) >= 1, "the pool has a server connection");

        var stats = Assert.Single((await QueryAsync(admin, "SHOW STATS")).Rows, r => r["database"] == TestUsers.Database);
        Assert.True(long.Parse(stats["total_xact_count"]!) >= 5, $"total_xact_count {stats["total_xact_count"]}");
        Assert.True(long.Parse(stats["total_query_count"]!) >= 5, $"total_query_count {stats["total_query_count"]}");
        Assert.True(long.Parse(stats["total_received"]!) > 0);
        Assert.True(long.Parse(stats["total_sent"]!) > 0);

        // The admin's own connection is a client too.
        Assert.Contains((await QueryAsync(admin, "SHOW CLIENTS")).Rows, r => r["user"] == AdminUser);
        Assert.Contains("Pooler", Assert.Single((await QueryAsync(admin, "SHOW VERSION")).Rows)["version"]);
    }

    [Fact]
    public async Task A_user_who_is_not_the_admin_gets_a_permission_error()
    {
        var refused = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var connection = new NpgsqlConnection(TestUsers.ConnectionString(Pooler.Host, Pooler.Port,
                database: "pgbouncer", extra: "Server Compatibility Mode=NoTypeLoading"));
            await connection.OpenAsync();
        });
        Assert.Equal("42501", refused.SqlState);
        Assert.Contains("admin", refused.MessageText);
    }

    [Fact]
    public async Task An_unknown_command_gets_a_clear_error_and_the_console_goes_on()
    {
        await using var admin = await OpenAdminAsync();
        var error = await Assert.ThrowsAsync<PostgresException>(() => QueryAsync(admin, "SHOW NONSENSE"));
        Assert.Equal("42601", error.SqlState); // not 08P01 as PgBouncer: Npgsql drops a connection on any 08 error
        Assert.Contains("SHOW NONSENSE", error.MessageText);
        Assert.NotEmpty((await QueryAsync(admin, "SHOW POOLS")).Rows);
    }

    [Fact]
    public async Task Pause_waits_for_running_transactions_holds_new_queries_and_resume_releases_them()
    {
        await using var admin = await OpenAdminAsync();
        await using var busy = await TestUsers.OpenAsync(Pooler.Host, Pooler.Port);
        await using var transaction = await busy.BeginTransactionAsync();
        await new NpgsqlCommand("SELECT 1", busy, transaction).ExecuteScalarAsync();

        // PAUSE answers only once the running transaction has given its connection back.
        var pause = QueryAsync(admin, $"PAUSE {TestUsers.Database}");
        await Eventually.WaitUntilAsync(async () => (await PoolerLogAsync()).Contains("PAUSE: waiting"), TimeSpan.FromSeconds(10),
            "the pool starts pausing");
        Assert.False(pause.IsCompleted, "PAUSE answered while a transaction was running");
        await transaction.CommitAsync();
        await pause.WaitAsync(TimeSpan.FromSeconds(10));

        // While paused, a query waits; RESUME lets it run.
        var waitedBefore = WaitTimeUs(await QueryAsync(admin, "SHOW STATS"));
        await using var waiting = await TestUsers.OpenAsync(Pooler.Host, Pooler.Port);
        var query = new NpgsqlCommand("SELECT 42", waiting).ExecuteScalarAsync();
        await using (var observer = await OpenAdminAsync())
            await Eventually.WaitUntilAsync(async () =>
                    (await QueryAsync(observer, "SHOW POOLS")).Rows.Any(r => r["database"] == TestUsers.Database && r["cl_waiting"] == "1"),
                TimeSpan.FromSeconds(10), "SHOW POOLS counts the waiting client");
        var seenWaiting = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(query.IsCompleted, "a query ran on a paused pool");
        await using (var observer = await OpenAdminAsync())
            Assert.Contains((await QueryAsync(observer, "SHOW CLIENTS")).Rows, r => r["database"] == TestUsers.Database && r["state"] == "waiting");
        var waitedAtLeast = seenWaiting.Elapsed;
        await QueryAsync(admin, $"RESUME {TestUsers.Database}");
        Assert.Equal(42, await query.WaitAsync(TimeSpan.FromSeconds(10)));

        // The client that got its connection is no longer waiting, and its wait is counted.
        Assert.DoesNotContain((await QueryAsync(admin, "SHOW CLIENTS")).Rows, r => r["state"] == "waiting");
        Assert.Equal("0", (await QueryAsync(admin, "SHOW POOLS")).Rows.First(r => r["database"] == TestUsers.Database)["cl_waiting"]);
        var waited = WaitTimeUs(await QueryAsync(admin, "SHOW STATS")) - waitedBefore;
        Assert.True(waited >= (long)(waitedAtLeast.TotalMicroseconds),
            $"SHOW STATS total_wait_time grew by {waited} µs; the client was seen waiting for at least {waitedAtLeast.TotalMicroseconds:0} µs");
    }

    private static long WaitTimeUs(AdminConsole.Result stats) =>
        long.Parse(stats.Rows.First(r => r["database"] == TestUsers.Database)["total_wait_time"]!);

    [Fact]
    public async Task Reload_applies_a_new_pool_size_keeps_clients_and_refuses_a_bad_file()
    {
        var original = await File.ReadAllTextAsync(Pooler.ConfigPath);
        try
        {
            await using var client = await TestUsers.OpenAsync(Pooler.Host, Pooler.Port);
            await using var admin = await OpenAdminAsync();
            // SHOW DATABASES' pool_size is the pool's server connection budget: the sum over its three users.
            Assert.Equal("15", PoolSizeOf(await QueryAsync(admin, "SHOW DATABASES")));

            await File.WriteAllTextAsync(Pooler.ConfigPath, original.Replace("pool_size = 5", "pool_size = 3"));
            await QueryAsync(admin, "RELOAD");
            Assert.Equal("9", PoolSizeOf(await QueryAsync(admin, "SHOW DATABASES")));
            Assert.Equal(7, await new NpgsqlCommand("SELECT 7", client).ExecuteScalarAsync());

            await File.WriteAllTextAsync(Pooler.ConfigPath, original.Replace("pool_size = 5", "pool_size = \"many\""));
            var refused = await Assert.ThrowsAsync<PostgresException>(() => QueryAsync(admin, "RELOAD"));
            Assert.Contains("pool_size", refused.MessageText);
            Assert.Equal("9", PoolSizeOf(await QueryAsync(admin, "SHOW DATABASES")));
        }
        finally
        {
            await File.WriteAllTextAsync(Pooler.ConfigPath, original);
            await using var admin = await OpenAdminAsync();
            await QueryAsync(admin, "RELOAD");
        }
    }

    [Fact]
    public async Task Reload_adds_a_pool_changes_a_password_and_removes_a_pool_without_dropping_its_clients()
    {
        const string added = "pooler_reloaded";
        var original = await File.ReadAllTextAsync(Pooler.ConfigPath);
        var md5Line = $"password = \"{TestUsers.Md5.Password}\"";
        Assert.Contains(md5Line, original);
        var newPool = $"""

            [pools.{added}]
            pool_mode = "transaction"

            [pools.{added}.shards.0]
            servers = [["{fixture.Server.Host}", {fixture.Server.Port}, "primary"]]
            database = "{TestUsers.Database}"

            [pools.{added}.users.0]
            username = "{TestUsers.Scram.Name}"
            password = "{TestUsers.Scram.Password}"
            pool_size = 2
            """;
        // The md5 user's client password changes; Pooler keeps logging in to PostgreSQL with the old one.
        var reloaded = original.Replace(md5Line, $"password = \"md5-pass-new\"\nserver_password = \"{TestUsers.Md5.Password}\"") + newPool;
        var newMd5 = TestUsers.Md5 with { Password = "md5-pass-new" };
        try
        {
            await using var admin = await OpenAdminAsync();
            await File.WriteAllTextAsync(Pooler.ConfigPath, reloaded);
            await QueryAsync(admin, "RELOAD");

            // The new pool serves clients.
            await using var onAdded = new NpgsqlConnection(TestUsers.ConnectionString(Pooler.Host, Pooler.Port, database: added));
            await onAdded.OpenAsync();
            Assert.Equal(TestUsers.Database, await new NpgsqlCommand("SELECT current_database()", onAdded).ExecuteScalarAsync());
            Assert.Contains((await QueryAsync(admin, "SHOW DATABASES")).Rows, r => r["name"] == added);

            // The new password logs in; the old one no longer does.
            await using (var withNew = await TestUsers.OpenAsync(Pooler.Host, Pooler.Port, newMd5))
                Assert.Equal(1, await new NpgsqlCommand("SELECT 1", withNew).ExecuteScalarAsync());
            var old = await Assert.ThrowsAsync<PostgresException>(() => TestUsers.OpenAsync(Pooler.Host, Pooler.Port, TestUsers.Md5));
            Assert.Equal("28P01", old.SqlState);

            // Removing the pool again refuses new clients of it; the one connected goes on.
            await File.WriteAllTextAsync(Pooler.ConfigPath, original);
            await QueryAsync(admin, "RELOAD");
            var gone = await Assert.ThrowsAsync<PostgresException>(async () =>
            {
                await using var late = new NpgsqlConnection(TestUsers.ConnectionString(Pooler.Host, Pooler.Port, database: added));
                await late.OpenAsync();
            });
            Assert.Equal("3D000", gone.SqlState);
            Assert.Equal(2, await new NpgsqlCommand("SELECT 2", onAdded).ExecuteScalarAsync());
        }
        finally
        {
            await File.WriteAllTextAsync(Pooler.ConfigPath, original);
            await using var admin = await OpenAdminAsync();
            await QueryAsync(admin, "RELOAD");
        }
    }

    [Fact]
    public async Task Sighup_reloads_the_config_file()
    {
        var original = await File.ReadAllTextAsync(Pooler.ConfigPath);
        try
        {
            await File.WriteAllTextAsync(Pooler.ConfigPath, original.Replace("pool_size = 5", "pool_size = 4"));
            var from = Pooler.Process.LineCount;
            var hup = await ProcessRunner.RunAsync("kill", ["-HUP", Pooler.Process.Id.ToString()]);
            Assert.Equal(0, hup.ExitCode);
            await Pooler.Process.WaitForLineAsync("configuration reloaded", TimeSpan.FromSeconds(15), from);

            await using var admin = await OpenAdminAsync();
            Assert.Equal("12", PoolSizeOf(await QueryAsync(admin, "SHOW DATABASES")));
            Assert.False(Pooler.Process.Exited.IsCompleted, "SIGHUP stopped Pooler");
        }
        finally
        {
            await File.WriteAllTextAsync(Pooler.ConfigPath, original);
            await using var admin = await OpenAdminAsync();
            await QueryAsync(admin, "RELOAD");
        }
    }

    [Fact]
    public async Task Disable_refuses_new_clients_enable_lets_them_in_and_kill_drops_connected_ones()
    {
        await using var admin = await OpenAdminAsync();
        await using var connected = await TestUsers.OpenAsync(Pooler.Host, Pooler.Port);

        await QueryAsync(admin, $"DISABLE {TestUsers.Database}");
        var refused = await Assert.ThrowsAsync<PostgresException>(() => TestUsers.OpenAsync(Pooler.Host, Pooler.Port));
        Assert.Equal("55000", refused.SqlState);
        Assert.Equal(1, await new NpgsqlCommand("SELECT 1", connected).ExecuteScalarAsync()); // connected clients go on
        await QueryAsync(admin, $"ENABLE {TestUsers.Database}");
        await using (var again = await TestUsers.OpenAsync(Pooler.Host, Pooler.Port))
            Assert.Equal(2, await new NpgsqlCommand("SELECT 2", again).ExecuteScalarAsync());

        await QueryAsync(admin, $"KILL {TestUsers.Database}");
        var killed = await Assert.ThrowsAnyAsync<Exception>(() => new NpgsqlCommand("SELECT 3", connected).ExecuteScalarAsync());
        output.WriteLine($"after KILL: {killed.GetType().Name}: {killed.Message}");
        await using var fresh = await TestUsers.OpenAsync(Pooler.Host, Pooler.Port);
        Assert.Equal(4, await new NpgsqlCommand("SELECT 4", fresh).ExecuteScalarAsync());
    }

    private static string? PoolSizeOf(AdminConsole.Result databases) =>
        Assert.Single(databases.Rows, r => r["name"] == TestUsers.Database)["pool_size"];

    private Task<string> PoolerLogAsync() => Task.FromResult(Pooler.Process.Output);

    private Task<NpgsqlConnection> OpenAdminAsync() => AdminConsole.OpenAsync(Pooler.Host, Pooler.Port);

    private static Task<AdminConsole.Result> QueryAsync(NpgsqlConnection connection, string sql) =>
        AdminConsole.QueryAsync(connection, sql);

    private Task<ProcessResult> PsqlAsync(string user, string password, string command) =>
        ProcessRunner.RunAsync(
            File.Exists("/usr/lib/postgresql/15/bin/psql") ? "/usr/lib/postgresql/15/bin/psql" : "/usr/bin/psql",
            ["-X", "-A", "-h", Pooler.Host, "-p", Pooler.Port.ToString(), "-U", user, "-d", "pgbouncer", "-c", command],
            environment: new Dictionary<string, string> { ["PGPASSWORD"] = password, ["PGCONNECT_TIMEOUT"] = "10" },
            timeout: TimeSpan.FromSeconds(30));
}
