using System.Globalization;
using System.Net;
using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Pooler.IntegrationTests;

/// <summary>
/// GET /metrics on a node of its own: the pool's series labelled with pool, user and node, totals
/// that count the transactions run through the node, duration histograms in Prometheus's shape,
/// and GET /health once the node is Up.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class MetricsTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private const string Pool = TestUsers.Database;
    private static readonly string User = TestUsers.Scram.Name;

    private static readonly string[] PoolGauges =
        ["pooler_pool_size", "pooler_pool_owned", "pooler_pool_paused", "pooler_pool_disabled"];

    private static readonly string[] PoolCounters =
        ["pooler_transactions_total", "pooler_queries_total", "pooler_received_bytes_total", "pooler_sent_bytes_total", "pooler_wait_seconds_total"];

    private static readonly string[] Histograms = ["pooler_query_duration_seconds", "pooler_transaction_duration_seconds"];

    private static readonly string[] Bounds =
        ["0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];

    [Fact]
    public async Task A_scrape_shows_the_pool_per_user_and_the_node_every_series_labelled_with_the_node()
    {
        await using var cluster = await PoolerCluster.StartAsync(postgres.Server, nodeCount: 1, poolSize: 3);
        var node = cluster[0];
        using var http = new HttpClient();
        await RunTransactionsAsync(node, 5);
        await using var idle = await node.OpenAsync();

        // The client that ran the transactions has left; the idle one stays.
        MetricsScrape metrics = null!;
        await Eventually.WaitUntilAsync(async () =>
        {
            metrics = await ScrapeAsync(http, node);
            return metrics.Value("pooler_client_connections") == 1;
        }, TimeSpan.FromSeconds(10), "the node counts one client");

        foreach (var sample in metrics.Samples)
            Assert.True(sample.Labels.GetValueOrDefault("node") == node.ClusterAddress,
                $"{sample} has no node=\"{node.ClusterAddress}\" label");
        foreach (var state in new[] { "active", "waiting" })
            Assert.Equal("gauge", metrics.TypeOf("pooler_clients", ("pool", Pool), ("user", User), ("state", state)));
        foreach (var state in new[] { "active", "idle", "used", "login" })
            Assert.Equal("gauge", metrics.TypeOf("pooler_servers", ("pool", Pool), ("user", User), ("state", state)));
        foreach (var name in PoolGauges)
            Assert.Equal("gauge", metrics.TypeOf(name, ("pool", Pool), ("user", User)));
        foreach (var name in PoolCounters)
            Assert.Equal("counter", metrics.TypeOf(name, ("pool", Pool), ("user", User)));
        foreach (var name in Histograms)
            Assert.Equal("histogram", metrics.TypeOf(name + "_count", ("pool", Pool), ("user", User)));
        foreach (var other in TestUsers.All)
            Assert.Equal(3, metrics.Value("pooler_pool_size", ("pool", Pool), ("user", other.Name)));

        Assert.Equal(1, metrics.Value("pooler_pool_owned", ("pool", Pool), ("user", User)));
        Assert.Equal(0, metrics.Value("pooler_pool_paused", ("pool", Pool), ("user", User)));
        Assert.Equal(0, metrics.Value("pooler_pool_disabled", ("pool", Pool), ("user", User)));
        // Npgsql's type loading at the first login runs a transaction of its own.
        Assert.True(metrics.Value("pooler_transactions_total", ("pool", Pool), ("user", User)) >= 5);
        Assert.True(metrics.Value("pooler_received_bytes_total", ("pool", Pool), ("user", User)) > 0);
        Assert.True(metrics.Value("pooler_sent_bytes_total", ("pool", Pool), ("user", User)) > 0);
        // The idle client is logged in and holds no server: active, not waiting; its server went back to the pool.
        Assert.Equal(1, metrics.Value("pooler_clients", ("pool", Pool), ("user", User), ("state", "active")));
        Assert.Equal(0, metrics.Value("pooler_clients", ("pool", Pool), ("user", User), ("state", "waiting")));
        Assert.Equal(0, metrics.Value("pooler_servers", ("pool", Pool), ("user", User), ("state", "active")));
        Assert.InRange(metrics.Value("pooler_servers", ("pool", Pool), ("user", User), ("state", "idle")) +
                       metrics.Value("pooler_servers", ("pool", Pool), ("user", User), ("state", "used")), 1, 3);

        Assert.Equal(0, metrics.Value("pooler_relayed_connections"));
        Assert.Equal("gauge", metrics.TypeOf("pooler_max_relayed_connections"));
        Assert.Equal(1, metrics.Value("pooler_cluster_members", ("status", "up")));
        Assert.Equal(0, metrics.Value("pooler_cluster_members", ("status", "joining")));
        Assert.Equal(0, metrics.Value("pooler_cluster_unreachable_members"));
        // prometheus-net's process and runtime metrics come along.
        Assert.Contains(metrics.Samples, s => s.Name == "process_cpu_seconds_total");

        using var health = await http.GetAsync($"http://{node.Host}:{node.HttpPort}/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ok", await health.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Transaction_and_query_totals_grow_with_every_transaction_run()
    {
        await using var cluster = await PoolerCluster.StartAsync(postgres.Server, nodeCount: 1);
        var node = cluster[0];
        using var http = new HttpClient();
        await using var connection = await node.OpenAsync();
        await RunTransactionsAsync(connection, 3);
        var before = await ScrapeAsync(http, node);
        var xacts = before.Value("pooler_transactions_total", ("pool", Pool), ("user", User));
        var queries = before.Value("pooler_queries_total", ("pool", Pool), ("user", User));

        await RunTransactionsAsync(connection, 10);

        MetricsScrape after = before;
        await Eventually.WaitUntilAsync(async () =>
        {
            after = await ScrapeAsync(http, node);
            return after.Value("pooler_transactions_total", ("pool", Pool), ("user", User)) >= xacts + 10;
        }, TimeSpan.FromSeconds(10), "pooler_transactions_total counts the 10 transactions");
        var moreXacts = after.Value("pooler_transactions_total", ("pool", Pool), ("user", User)) - xacts;
        var moreQueries = after.Value("pooler_queries_total", ("pool", Pool), ("user", User)) - queries;
        output.WriteLine($"10 transactions: transactions_total +{moreXacts}, queries_total +{moreQueries}");
        Assert.Equal(10, moreXacts);
        Assert.True(moreQueries >= 10, $"queries_total grew by {moreQueries} over 10 transactions");
    }

    [Fact]
    public async Task Duration_histograms_have_cumulative_buckets_whose_last_is_the_count()
    {
        await using var cluster = await PoolerCluster.StartAsync(postgres.Server, nodeCount: 1);
        var node = cluster[0];
        using var http = new HttpClient();
        await RunTransactionsAsync(node, 20);
        // A slower transaction or two, so that more than one bucket is counted.
        await using (var connection = await node.OpenAsync())
        await using (var slow = new NpgsqlCommand("SELECT pg_sleep(0.03)", connection))
            await slow.ExecuteNonQueryAsync();

        var metrics = await ScrapeAsync(http, node);

        foreach (var name in Histograms)
        {
            var series = metrics.Samples.Where(s => s.Name == name + "_bucket")
                .GroupBy(s => s.LabelsWithout("le")).ToList();
            Assert.NotEmpty(series);
            foreach (var buckets in series)
            {
                Assert.Equal(Bounds, buckets.Select(b => b.Labels["le"]));
                var counts = buckets.Select(b => b.Value).ToList();
                for (var i = 1; i < counts.Count; i++)
                    Assert.True(counts[i] >= counts[i - 1], $"{name}{{{buckets.Key}}}: bucket le={Bounds[i]} ({counts[i]}) < le={Bounds[i - 1]} ({counts[i - 1]})");
                var labels = buckets.First().Labels.Where(l => l.Key != "le").Select(l => (l.Key, l.Value)).ToArray();
                Assert.Equal(counts[^1], metrics.Value(name + "_count", labels));
                Assert.True(metrics.Value(name + "_sum", labels) >= 0);
            }
        }
        var xacts = metrics.Value("pooler_transactions_total", ("pool", Pool), ("user", User));
        Assert.True(xacts >= 21, $"pooler_transactions_total is {xacts} after 21 transactions");
        Assert.Equal(xacts, metrics.Value("pooler_transaction_duration_seconds_count", ("pool", Pool), ("user", User)));
        Assert.Equal(metrics.Value("pooler_queries_total", ("pool", Pool), ("user", User)),
            metrics.Value("pooler_query_duration_seconds_count", ("pool", Pool), ("user", User)));
        // pg_sleep(0.03) took longer than 25 ms: not every query sits in the buckets up to 0.025.
        Assert.True(metrics.Value("pooler_query_duration_seconds_bucket", ("pool", Pool), ("user", User), ("le", "0.025")) <
                    metrics.Value("pooler_query_duration_seconds_count", ("pool", Pool), ("user", User)));
        Assert.True(metrics.Value("pooler_query_duration_seconds_sum", ("pool", Pool), ("user", User)) >= 0.03);
    }

    private async Task<MetricsScrape> ScrapeAsync(HttpClient http, PoolerClusterNode node)
    {
        using var response = await http.GetAsync($"http://{node.Host}:{node.HttpPort}/metrics");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET /metrics: {(int)response.StatusCode} {body}\n{node.Process.Output}");
        var type = response.Content.Headers.ContentType;
        Assert.Equal("text/plain", type?.MediaType);
        Assert.Contains(type!.Parameters, p => p.Name == "version" && p.Value == "0.0.4");
        try
        {
            return MetricsScrape.Parse(body);
        }
        catch (FormatException)
        {
            output.WriteLine(body);
            throw;
        }
    }

    private static async Task RunTransactionsAsync(PoolerClusterNode node, int count)
    {
        await using var connection = await node.OpenAsync();
        await RunTransactionsAsync(connection, count);
    }

    private static async Task RunTransactionsAsync(NpgsqlConnection connection, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await using var command = new NpgsqlCommand("SELECT @i::int", connection, transaction);
            command.Parameters.AddWithValue("i", i);
            Assert.Equal(i, await command.ExecuteScalarAsync());
            await transaction.CommitAsync();
        }
    }
}

/// <summary>
/// A scrape in Prometheus's text format (version 0.0.4), parsed just enough to check it: samples
/// <c>name{label="value",…} value [timestamp]</c> and the <c># TYPE</c> of each family.
/// </summary>
internal sealed class MetricsScrape
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
    {
        public string LabelsWithout(string label) =>
            string.Join(",", Labels.Where(l => l.Key != label).OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}=\"{l.Value}\""));

        public override string ToString() => $"{Name}{{{LabelsWithout("")}}} {Value}";
    }

    private readonly Dictionary<string, string> _types = [];

    public List<Sample> Samples { get; } = [];

    /// <summary>The one sample of <paramref name="name"/> that has these labels (and any others).</summary>
    public double Value(string name, params (string Label, string Value)[] labels)
    {
        var found = Samples.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Label) == l.Value)).ToList();
        Assert.True(found.Count == 1,
            $"expected one {name}{{{string.Join(",", labels.Select(l => $"{l.Label}=\"{l.Value}\""))}}}, found {found.Count}:\n" +
            string.Join("\n", Samples.Where(s => s.Name == name)));
        return found[0].Value;
    }

    /// <summary>The declared type of the family of that one sample (asserting it exists).</summary>
    public string TypeOf(string name, params (string Label, string Value)[] labels)
    {
        Value(name, labels);
        return FamilyType(name) ?? throw new Xunit.Sdk.XunitException($"no # TYPE line for {name}");
    }

    private string? FamilyType(string name)
    {
        if (_types.TryGetValue(name, out var type))
            return type;
        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
            if (name.EndsWith(suffix, StringComparison.Ordinal) &&
                _types.TryGetValue(name[..^suffix.Length], out var family) && family is "histogram" or "summary")
                return family;
        return null;
    }

    public static MetricsScrape Parse(string text)
    {
        var metrics = new MetricsScrape();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0)
                continue;
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                if (parts.Length != 4 || !metrics._types.TryAdd(parts[2], parts[3]))
                    throw new FormatException($"bad or repeated TYPE line: {line}");
                continue;
            }
            if (line.StartsWith('#'))
                continue;
            var sample = ParseSample(line);
            if (metrics.FamilyType(sample.Name) is null)
                throw new FormatException($"sample of a family without a TYPE line before it: {line}");
            metrics.Samples.Add(sample);
        }
        return metrics;
    }

    private static Sample ParseSample(string line)
    {
        var at = 0;
        while (at < line.Length && line[at] != '{' && line[at] != ' ')
            at++;
        var name = line[..at];
        var labels = new Dictionary<string, string>();
        if (at < line.Length && line[at] == '{')
        {
            at++;
            while (line[at] != '}')
            {
                var equals = line.IndexOf('=', at);
                var label = line[at..equals];
                if (line[equals + 1] != '"')
                    throw new FormatException($"label value not quoted: {line}");
                var value = new System.Text.StringBuilder();
                at = equals + 2;
                for (; line[at] != '"'; at++)
                {
                    if (line[at] == '\\')
                        value.Append(line[++at] switch { 'n' => '\n', var c => c });
                    else
                        value.Append(line[at]);
                }
                if (!labels.TryAdd(label, value.ToString()))
                    throw new FormatException($"label {label} twice: {line}");
                at++;
                if (line[at] == ',')
                    at++;
            }
            at++;
        }
        var fields = line[at..].Trim().Split(' ');
        if (fields.Length is < 1 or > 2)
            throw new FormatException($"expected a value and maybe a timestamp: {line}");
        return new Sample(name, labels, ParseValue(fields[0], line));
    }

    private static double ParseValue(string value, string line) => value switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new FormatException($"bad value '{value}': {line}"),
    };
}
