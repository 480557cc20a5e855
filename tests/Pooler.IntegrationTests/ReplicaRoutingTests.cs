using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;

namespace Pooler.IntegrationTests;

/// <summary>
/// A primary and a streaming replica (pg_basebackup -R) behind one pool, with the query parser's
/// read/write split on and ban_time 2 s.
/// </summary>
public class ReplicaFixture : IAsyncLifetime
{
    public PostgresServer Primary { get; private set; } = null!;
    public PostgresServer Replica { get; private set; } = null!;
    public PoolerNode Pooler { get; private set; } = null!;

    /// <summary>Long enough for a test to look at a ban before it ends.</summary>
    public virtual int BanTimeSeconds => 2;

    protected virtual string PoolKeys => """
        query_parser_enabled = true
        query_parser_read_write_splitting = true
        """;

    public async Task InitializeAsync()
    {
        Primary = await PostgresServer.StartAsync();
        await Primary.PsqlAsync("CREATE TABLE routed (id int); GRANT ALL ON routed TO PUBLIC", TestUsers.Database);
        Replica = await Primary.StartReplicaAsync();
        await Primary.WaitForReplicaAsync(Replica);
        Pooler = await PoolerNode.StartWithPoolsAsync($"""
            [pools.{TestUsers.Database}]
            pool_mode = "transaction"
            {PoolKeys}

            [pools.{TestUsers.Database}.shards.0]
            servers = [["{Primary.Host}", {Primary.Port}, "primary"], ["{Replica.Host}", {Replica.Port}, "replica"]]
            database = "{TestUsers.Database}"

            {TestPoolToml.ScramUser(TestUsers.Database, 3)}
            """, general: $"""
            ban_time = {BanTimeSeconds}
            healthcheck_delay = 1
            connect_timeout = 2000
            """, http: true);
    }

    public async Task DisposeAsync()
    {
        if (Pooler is not null)
            await Pooler.DisposeAsync();
        if (Replica is not null)
            await Replica.DisposeAsync();
        if (Primary is not null)
            await Primary.DisposeAsync();
    }

    public static async Task<bool> InRecoveryAsync(NpgsqlConnection connection, string sql = "SELECT pg_is_in_recovery()") =>
        (bool)(await new NpgsqlCommand(sql, connection).ExecuteScalarAsync())!;
}

public sealed class ReplicaFailureFixture : ReplicaFixture
{
    public override int BanTimeSeconds => 8;
}

/// <summary>
/// Reads and writes through a pool with a primary and a replica: every answer says where it ran
/// (<c>pg_is_in_recovery()</c>), so the test sees the routing PostgreSQL itself reports.
/// </summary>
public sealed class ReplicaRoutingTests(ReplicaFixture fixture) : IClassFixture<ReplicaFixture>
{
    [Fact]
    public async Task Reads_go_to_the_replica_and_writes_and_transactions_to_the_primary()
    {
        await using var client = await fixture.Pooler.OpenAsync();
        for (var i = 0; i < 10; i++)
            Assert.True(await ReplicaFixture.InRecoveryAsync(client), "a plain SELECT ran on the primary");
        Assert.True(await ReplicaFixture.InRecoveryAsync(client, "SELECT pg_is_in_recovery() FROM routed UNION ALL SELECT true LIMIT 1"));

        Assert.False(await ReplicaFixture.InRecoveryAsync(client, "INSERT INTO routed VALUES (1) RETURNING pg_is_in_recovery()"));
        Assert.False(await ReplicaFixture.InRecoveryAsync(client,
            "WITH gone AS (DELETE FROM routed WHERE id = -1 RETURNING 1) SELECT pg_is_in_recovery()"));
        Assert.False(await ReplicaFixture.InRecoveryAsync(client, "SELECT pg_is_in_recovery() FROM routed FOR UPDATE"));
        Assert.False(await ReplicaFixture.InRecoveryAsync(client, "/* role: primary */ SELECT pg_is_in_recovery()"));

        await using (var transaction = await client.BeginTransactionAsync())
        {
            var command = new NpgsqlCommand("SELECT pg_is_in_recovery()", client, transaction);
            Assert.False((bool)(await command.ExecuteScalarAsync())!, "a transaction block ran its read on the replica");
            await transaction.CommitAsync();
        }
    }

    [Fact]
    public async Task Set_server_role_and_show_server_role_steer_the_next_transactions()
    {
        await using var client = await fixture.Pooler.OpenAsync();
        await new NpgsqlCommand("SET SERVER ROLE TO 'primary'", client).ExecuteNonQueryAsync();
        Assert.Equal("primary", (string)(await new NpgsqlCommand("SHOW SERVER ROLE", client).ExecuteScalarAsync())!);
        for (var i = 0; i < 5; i++)
            Assert.False(await ReplicaFixture.InRecoveryAsync(client));

        await new NpgsqlCommand("SET SERVER ROLE TO 'replica'", client).ExecuteNonQueryAsync();
        var readOnly = await Assert.ThrowsAsync<PostgresException>(() =>
            new NpgsqlCommand("INSERT INTO routed VALUES (2)", client).ExecuteNonQueryAsync());
        Assert.Equal("25006", readOnly.SqlState); // the replica said: read-only transaction

        await new NpgsqlCommand("SET SERVER ROLE TO 'any'", client).ExecuteNonQueryAsync();
        var seen = new HashSet<bool>();
        for (var i = 0; i < 40 && seen.Count < 2; i++)
            seen.Add(await ReplicaFixture.InRecoveryAsync(client));
        Assert.Equal(2, seen.Count); // random load balancing over both servers

        await new NpgsqlCommand("SET SERVER ROLE TO 'auto'", client).ExecuteNonQueryAsync();
        Assert.True(await ReplicaFixture.InRecoveryAsync(client));
        var bad = await Assert.ThrowsAsync<PostgresException>(() =>
            new NpgsqlCommand("SET SERVER ROLE TO 'leader'", client).ExecuteNonQueryAsync());
        Assert.Equal("22023", bad.SqlState);
        Assert.True(await ReplicaFixture.InRecoveryAsync(client), "the session did not go on after a bad SET SERVER ROLE");
    }
}

/// <summary>A replica that stops is banned and its reads go to the primary; back after ban_time; a stopped primary gives writes a clear error.</summary>
public sealed class ReplicaFailureTests(ReplicaFailureFixture fixture) : IClassFixture<ReplicaFailureFixture>
{
    [Fact]
    public async Task A_stopped_replica_is_banned_reads_move_to_the_primary_and_come_back_after_ban_time()
    {
        await using var client = await fixture.Pooler.OpenAsync();
        Assert.True(await ReplicaFixture.InRecoveryAsync(client));

        var from = fixture.Pooler.Process.LineCount;
        await fixture.Replica.StopFastAsync();
        for (var i = 0; i < 5; i++)
            Assert.False(await ReplicaFixture.InRecoveryAsync(client), "a read failed or ran nowhere while the replica was down");
        await fixture.Pooler.Process.WaitForLineAsync($"banned for {fixture.BanTimeSeconds} s", TimeSpan.FromSeconds(10), from);
        await using (var admin = await AdminConsole.OpenAsync(fixture.Pooler.Host, fixture.Pooler.Port))
        {
            var bans = await AdminConsole.QueryAsync(admin, "SHOW BANS");
            var ban = Assert.Single(bans.Rows);
            Assert.Equal(fixture.Replica.Port.ToString(), ban["port"]);
            Assert.Equal("replica", ban["role"]);
        }
        // What the dashboard shows comes from /api/cluster.
        using (var http = new HttpClient())
        {
            var cluster = System.Text.Json.JsonDocument.Parse(
                await http.GetStringAsync($"http://{fixture.Pooler.Host}:{fixture.Pooler.HttpPort}/api/cluster?connections=false"));
            var bans = cluster.RootElement.GetProperty("nodes").EnumerateArray().SelectMany(n => n.GetProperty("bans").EnumerateArray()).ToList();
            Assert.Equal(fixture.Replica.Port, Assert.Single(bans).GetProperty("port").GetInt32());
        }
        await DashboardShowsBanAsync($"{fixture.Replica.Host}:{fixture.Replica.Port}");

        await fixture.Replica.StartAgainAsync();
        await Eventually.WaitUntilAsync(() => ReplicaFixture.InRecoveryAsync(client), TimeSpan.FromSeconds(30),
            "reads went back to the replica once its ban was over");

        // The primary stops: reads still run on the replica, writes get a clear error.
        await fixture.Primary.StopFastAsync();
        try
        {
            await using var writer = await fixture.Pooler.OpenAsync();
            var error = await Assert.ThrowsAsync<PostgresException>(async () =>
            {
                for (var i = 0; i < 3; i++)
                    await new NpgsqlCommand("INSERT INTO routed VALUES (3)", writer).ExecuteNonQueryAsync();
            });
            Assert.Equal("08006", error.SqlState);
            Assert.Contains("primary", error.MessageText);
            await using var reader = await fixture.Pooler.OpenAsync();
            Assert.True(await ReplicaFixture.InRecoveryAsync(reader));
        }
        finally
        {
            await fixture.Primary.StartAgainAsync();
        }
    }

    /// <summary>The dashboard (Debian's chromium, headless) lists the banned server.</summary>
    private async Task DashboardShowsBanAsync(string server)
    {
        const string chromium = "/usr/bin/chromium";
        Assert.True(File.Exists(chromium), $"{chromium} is missing: apt-get install -y chromium");
        using var playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"http://{fixture.Pooler.Host}:{fixture.Pooler.HttpPort}/dashboard");
        await Microsoft.Playwright.Assertions.Expect(page.Locator("[data-test=ban-row] [data-test=ban-server]"))
            .ToHaveTextAsync([server], new() { Timeout = 5_000 });
    }
}

/// <summary>The replica pair with max_replica_lag_bytes = 1 KiB.</summary>
public sealed class ReplicaLagFixture : ReplicaFixture
{
    protected override string PoolKeys => """
        query_parser_enabled = true
        query_parser_read_write_splitting = true
        max_replica_lag_bytes = 1024
        """;
}

/// <summary>max_replica_lag_bytes: a replica whose replay falls behind is banned until it catches up.</summary>
public sealed class ReplicaLagTests(ReplicaLagFixture fixture) : IClassFixture<ReplicaLagFixture>
{
    [Fact]
    public async Task A_replica_that_falls_behind_is_banned_and_comes_back_once_it_has_caught_up()
    {
        await using var client = await fixture.Pooler.OpenAsync();
        Assert.True(await ReplicaFixture.InRecoveryAsync(client));
        Assert.False(await ReplicaFixture.InRecoveryAsync(client, "INSERT INTO routed VALUES (0) RETURNING pg_is_in_recovery()"));

        var from = fixture.Pooler.Process.LineCount;
        await fixture.Replica.PsqlAsync("SELECT pg_wal_replay_pause()");
        try
        {
            await fixture.Primary.PsqlAsync("INSERT INTO routed SELECT g FROM generate_series(1, 20000) g", TestUsers.Database);
            await fixture.Pooler.Process.WaitForLineAsync("replica lag", TimeSpan.FromSeconds(20), from);
            Assert.False(await ReplicaFixture.InRecoveryAsync(client), "a read went to the lagging replica");
            await using var admin = await AdminConsole.OpenAsync(fixture.Pooler.Host, fixture.Pooler.Port);
            Assert.Contains("max_replica_lag_bytes", Assert.Single((await AdminConsole.QueryAsync(admin, "SHOW BANS")).Rows)["reason"]);
        }
        finally
        {
            await fixture.Replica.PsqlAsync("SELECT pg_wal_replay_resume()");
        }
        await Eventually.WaitUntilAsync(() => ReplicaFixture.InRecoveryAsync(client), TimeSpan.FromSeconds(30),
            "reads went back to the replica once it had caught up and its ban was over");
    }
}

/// <summary>The replica pair with load_balancing_mode = "loc".</summary>
public sealed class ReplicaLocFixture : ReplicaFixture
{
    protected override string PoolKeys => """
        load_balancing_mode = "loc"
        """;
}

/// <summary>load_balancing_mode = "loc": a transaction goes to the server with the fewest connections in use.</summary>
public sealed class LeastOutstandingTests(ReplicaLocFixture fixture) : IClassFixture<ReplicaLocFixture>
{
    [Theory]
    [InlineData("replica", false)]
    [InlineData("primary", true)]
    public async Task Reads_avoid_the_server_another_client_keeps_busy(string busy, bool readsInRecovery)
    {
        await using var holder = await fixture.Pooler.OpenAsync();
        await new NpgsqlCommand($"SET SERVER ROLE TO '{busy}'", holder).ExecuteNonQueryAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        Assert.Equal(busy == "replica", (bool)(await new NpgsqlCommand("SELECT pg_is_in_recovery()", holder, transaction).ExecuteScalarAsync())!);

        await using var reader = await fixture.Pooler.OpenAsync();
        await new NpgsqlCommand("SET SERVER ROLE TO 'any'", reader).ExecuteNonQueryAsync();
        for (var i = 0; i < 10; i++)
            Assert.Equal(readsInRecovery, await ReplicaFixture.InRecoveryAsync(reader));
        await transaction.CommitAsync();
    }
}

/// <summary>The replica pair without the query parser: default_role = "replica", primary_reads_enabled = true.</summary>
public sealed class ReplicaDefaultRoleFixture : ReplicaFixture
{
    protected override string PoolKeys => """
        default_role = "replica"
        primary_reads_enabled = true
        """;
}

/// <summary>default_role and primary_reads_enabled (and SET PRIMARY READS) without the query parser.</summary>
public sealed class DefaultRoleTests(ReplicaDefaultRoleFixture fixture) : IClassFixture<ReplicaDefaultRoleFixture>
{
    [Fact]
    public async Task Default_role_replica_with_primary_reads_spreads_over_both_and_set_primary_reads_off_keeps_to_the_replica()
    {
        await using var client = await fixture.Pooler.OpenAsync();
        var seen = new HashSet<bool>();
        for (var i = 0; i < 40 && seen.Count < 2; i++)
            seen.Add(await ReplicaFixture.InRecoveryAsync(client));
        Assert.Equal(2, seen.Count); // primary_reads_enabled: the primary takes "replica" transactions too

        await new NpgsqlCommand("SET PRIMARY READS TO 'off'", client).ExecuteNonQueryAsync();
        Assert.Equal("off", (string)(await new NpgsqlCommand("SHOW PRIMARY READS", client).ExecuteScalarAsync())!);
        for (var i = 0; i < 10; i++)
            Assert.True(await ReplicaFixture.InRecoveryAsync(client));

        // Without the query parser a write follows default_role too: the replica refuses it.
        var refused = await Assert.ThrowsAsync<PostgresException>(() =>
            new NpgsqlCommand("INSERT INTO routed VALUES (5)", client).ExecuteNonQueryAsync());
        Assert.Equal("25006", refused.SqlState);
        Assert.False(await ReplicaFixture.InRecoveryAsync(client, "/* role: primary */ SELECT pg_is_in_recovery()"));
    }
}
