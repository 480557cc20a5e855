using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Pooler.IntegrationTests;

/// <summary>
/// The cluster dashboard in a real browser (Debian's chromium, headless, driven by Playwright):
/// three pooler processes under a light load of transactions, the page served by one of them.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class DashboardTests(PostgresFixture postgres, ITestOutputHelper output)
{
    // Playwright cannot download its own browsers here; the machine's chromium is used instead.
    private const string Chromium = "/usr/bin/chromium";

    private const string PoolSelector = $"[data-test=pool][data-pool={TestUsers.Database}]";

    [Fact]
    public async Task The_dashboard_shows_three_members_up_the_pool_s_owner_and_live_transactions_per_second()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: apt-get install -y chromium");
        await using var cluster = await PoolerCluster.StartAsync(postgres.Server, poolSize: 2);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        foreach (var node in cluster.Nodes)
        {
            using var health = await http.GetAsync($"{BaseUri(node)}/health");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.Equal("ok", await health.Content.ReadAsStringAsync());
        }

        using var stopLoad = new CancellationTokenSource();
        var load = cluster.Nodes.Select(n => RunLoadAsync(n, stopLoad.Token)).ToList();
        var viewed = cluster[1];
        try
        {
            var owner = await PoolOwnerAsync(http, viewed);
            output.WriteLine($"GET /pools: {TestUsers.Database} lives on {owner}");

            SetDefaultExpectTimeout(20_000);
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new()
            {
                ExecutablePath = Chromium,
                Headless = true,
                Args = ["--no-sandbox", "--disable-dev-shm-usage"],
            });
            var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1400, Height = 1000 } });
            await page.GotoAsync($"{BaseUri(viewed)}/dashboard");

            var members = page.Locator("[data-test=member-row]");
            await Expect(members).ToHaveCountAsync(3);
            await Expect(members.Locator("[data-test=member-status]")).ToHaveTextAsync(["Up", "Up", "Up"]);
            Assert.Equal(cluster.Nodes.Select(n => n.ClusterAddress).Order(),
                (await members.Locator("[data-test=member-address]").AllTextContentsAsync()).Order());
            await Expect(page.Locator("[data-test=api-error]")).ToBeHiddenAsync();

            var pool = page.Locator(PoolSelector);
            await Expect(pool.Locator("[data-test=pool-owner]")).ToHaveTextAsync(owner);
            // One client of the load on each node: the node rows show where they are, and the pool counts
            // each once (two are relayed to the owner and are sessions there too).
            await Expect(pool.Locator("[data-test=pool-node-row]")).ToHaveCountAsync(3);
            // (pool_size 2 for three clients: now and then one of them waits.)
            await page.WaitForFunctionAsync("""
                pool => {
                    const figure = name => parseInt(document.querySelector(`${pool} [data-test=${name}]`).textContent);
                    return figure("pool-clients-active") + figure("pool-clients-waiting") === 3;
                }
                """, PoolSelector, new() { Timeout = 20_000 });

            // Transactions per second: a positive number while the load runs, and a new one as it goes on.
            var tps = pool.Locator("[data-test=pool-tps]");
            await Expect(tps).ToHaveTextAsync(new Regex(@"^\d+\.\d$"));
            await page.WaitForFunctionAsync("pool => parseFloat(document.querySelector(`${pool} [data-test=pool-tps]`).textContent) > 0",
                PoolSelector, new() { Timeout = 20_000 });
            var first = await tps.TextContentAsync();
            await Expect(tps).Not.ToHaveTextAsync(first!);
            output.WriteLine($"transactions per second: {first}, then {await tps.TextContentAsync()}");
            await Expect(pool.Locator("[data-test=pool-avg-query]")).ToHaveTextAsync(new Regex(@"^\d+\.\d\d$"));

            var screenshot = Path.Combine(AppContext.BaseDirectory, "artifacts", "dashboard.png");
            Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
            await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
            output.WriteLine($"screenshot of the dashboard: {screenshot}");

            // The node the page polls goes away: the page says so instead of showing stale figures as live.
            await StopLoadAsync(stopLoad, load);
            await viewed.KillAsync();
            await Expect(page.Locator("[data-test=api-error]")).ToBeVisibleAsync();
            await Expect(page.Locator("[data-test=api-error]")).ToContainTextAsync("Cannot reach the Pooler API");
        }
        finally
        {
            await StopLoadAsync(stopLoad, load);
        }
    }

    [Fact]
    public async Task Api_cluster_returns_the_members_placement_and_every_node_s_report_in_camel_case()
    {
        await using var cluster = await PoolerCluster.StartAsync(postgres.Server, poolSize: 2);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await using (var connection = await cluster[2].OpenAsync())
        await using (var command = new NpgsqlCommand("SELECT 1", connection))
            await command.ExecuteScalarAsync();
        var owner = await PoolOwnerAsync(http, cluster[0]);

        using var json = JsonDocument.Parse(await http.GetStringAsync($"{BaseUri(cluster[0])}/api/cluster"));
        var root = json.RootElement;

        Assert.Equal(cluster[0].ClusterAddress, root.GetProperty("self").GetString());
        var members = root.GetProperty("members").EnumerateArray().ToList();
        Assert.Equal(cluster.Nodes.Select(n => n.ClusterAddress).Order(), members.Select(m => m.GetProperty("address").GetString()).Order());
        Assert.All(members, m => Assert.Equal("Up", m.GetProperty("status").GetString()));
        var placement = Assert.Single(root.GetProperty("placement").EnumerateArray());
        Assert.Equal(TestUsers.Database, placement.GetProperty("pool").GetString());
        Assert.Equal(owner, placement.GetProperty("owner").GetString());
        var nodes = root.GetProperty("nodes").EnumerateArray().ToList();
        Assert.Equal(3, nodes.Count);
        Assert.All(nodes, n => Assert.True(n.GetProperty("pools").GetArrayLength() > 0));
    }

    private static string BaseUri(PoolerClusterNode node) => $"http://{node.Host}:{node.HttpPort}";

    /// <summary>Where GET /pools says the test pool lives, once it lives somewhere.</summary>
    private static async Task<string> PoolOwnerAsync(HttpClient http, PoolerClusterNode node)
    {
        string? owner = null;
        await Eventually.WaitUntilAsync(async () =>
        {
            using var pools = JsonDocument.Parse(await http.GetStringAsync($"{BaseUri(node)}/pools"));
            owner = pools.RootElement.EnumerateArray()
                .Single(p => p.GetProperty("pool").GetString() == TestUsers.Database)
                .GetProperty("owner").GetString();
            return owner is not null;
        }, TimeSpan.FromSeconds(30), $"GET /pools names the node {TestUsers.Database} lives on");
        return owner!;
    }

    /// <summary>One client on the node running short transactions, about fifty a second, until told to stop.</summary>
    private static async Task RunLoadAsync(PoolerClusterNode node, CancellationToken stop)
    {
        await using var connection = await node.OpenAsync();
        while (!stop.IsCancellationRequested)
        {
            await using (var transaction = await connection.BeginTransactionAsync(CancellationToken.None))
            {
                await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_class", connection, transaction);
                await command.ExecuteScalarAsync(CancellationToken.None);
                await transaction.CommitAsync(CancellationToken.None);
            }
            try
            {
                await Task.Delay(20, stop);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private static async Task StopLoadAsync(CancellationTokenSource stop, IReadOnlyList<Task> load)
    {
        stop.Cancel();
        await Task.WhenAll(load);
    }
}
