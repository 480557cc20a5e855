using System.Text;
using Akka.Cluster;
using Pooler.Core.Stats;
using Prometheus;
using AkkaCluster = Akka.Cluster.Cluster;

namespace Pooler.Host.Http;

/// <summary>
/// <c>GET /metrics</c>: this node's pools and its view of the cluster in Prometheus's text format.
/// prometheus-net's registry serves the process and .NET runtime metrics and the pool gauges and
/// counters, copied from one <see cref="NodeSnapshot"/> per scrape; the duration histograms, whose
/// buckets the data path counts itself, are written beside them by <see cref="HistogramText"/>.
/// Every series carries <c>node</c>, this node's cluster address.
/// </summary>
internal sealed class MetricsExporter
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly string[] ClientStates = ["active", "waiting"];
    private static readonly string[] ServerStates = ["active", "idle", "used", "login"];

    private readonly AkkaCluster _cluster;
    private readonly string _node;
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    // One scrape at a time: a scrape sets the series of its snapshot and drops the ones it no longer has.
    private readonly SemaphoreSlim _scrape = new(1, 1);
    private HashSet<(string Pool, string User)> _published = [];

    private readonly Gauge _clients, _servers, _poolSize, _maxWait, _owned, _paused, _disabled;
    private readonly Counter _transactions, _queries, _received, _sent, _wait;
    private readonly Gauge _clientConnections, _relayed, _maxRelayed, _members, _unreachable;

    public MetricsExporter(AkkaCluster cluster)
    {
        _cluster = cluster;
        _node = cluster.SelfAddress.ToString();
        // Static labels must be set before the first metric is created in the registry.
        _registry.SetStaticLabels(new Dictionary<string, string> { ["node"] = _node });
        DotNetStats.Register(_registry);
        var metrics = Metrics.WithCustomRegistry(_registry);

        string[] pool = ["pool", "user"];
        _clients = metrics.CreateGauge("pooler_clients", "Client connections of the pool on this node, by state (PgBouncer's cl_active, cl_waiting).", [.. pool, "state"]);
        _servers = metrics.CreateGauge("pooler_servers", "Server connections of the pool, by state (sv_active, sv_idle, sv_used, sv_login); zero on nodes that do not own the pool.", [.. pool, "state"]);
        _poolSize = metrics.CreateGauge("pooler_pool_size", "Configured pool_size: server connections the whole cluster may open for this pool and user.", pool);
        _maxWait = metrics.CreateGauge("pooler_max_wait_seconds", "How long the oldest waiting client of the pool has waited (PgBouncer's maxwait).", pool);
        _owned = metrics.CreateGauge("pooler_pool_owned", "1 if the pool lives on this node (its server connections are here), else 0.", pool);
        _paused = metrics.CreateGauge("pooler_pool_paused", "1 if the pool is paused (PAUSE), else 0.", pool);
        _disabled = metrics.CreateGauge("pooler_pool_disabled", "1 if the pool takes no new clients (DISABLE), else 0.", pool);
        _transactions = metrics.CreateCounter("pooler_transactions_total", "Transactions run through the pool on this node.", pool);
        _queries = metrics.CreateCounter("pooler_queries_total", "Queries run through the pool on this node.", pool);
        _received = metrics.CreateCounter("pooler_received_bytes_total", "Bytes received from clients.", pool);
        _sent = metrics.CreateCounter("pooler_sent_bytes_total", "Bytes sent to clients.", pool);
        _wait = metrics.CreateCounter("pooler_wait_seconds_total", "Time clients spent waiting for a server connection.", pool);

        _clientConnections = metrics.CreateGauge("pooler_client_connections", "Client connections on this node, relayed ones included.");
        _relayed = metrics.CreateGauge("pooler_relayed_connections", "Clients relayed to this node from other nodes.");
        _maxRelayed = metrics.CreateGauge("pooler_max_relayed_connections", "[cluster] max_relayed_connections: the cap on relayed clients.");
        _members = metrics.CreateGauge("pooler_cluster_members", "Cluster members by status, as this node sees them.", "status");
        _unreachable = metrics.CreateGauge("pooler_cluster_unreachable_members", "Cluster members this node's failure detector marks unreachable.");
    }

    /// <summary>Writes the whole exposition for <paramref name="snapshot"/> (this node's own report).</summary>
    public async Task WriteAsync(NodeSnapshot snapshot, Stream output, CancellationToken cancellation)
    {
        await _scrape.WaitAsync(cancellation);
        try
        {
            UpdatePools(snapshot);
            UpdateNode(snapshot);
            await _registry.CollectAndExportAsTextAsync(output, cancellation);
        }
        finally
        {
            _scrape.Release();
        }
        var histograms = new StringBuilder();
        HistogramText.Write(histograms, "pooler_query_duration_seconds", "How long queries took (what PgBouncer sums as query_time).",
            _node, snapshot.Pools, p => p.Totals.QueryTimeBuckets, p => p.Totals.QueryTimeUs);
        HistogramText.Write(histograms, "pooler_transaction_duration_seconds", "How long transactions took (what PgBouncer sums as xact_time).",
            _node, snapshot.Pools, p => p.Totals.XactTimeBuckets, p => p.Totals.XactTimeUs);
        await output.WriteAsync(Encoding.UTF8.GetBytes(histograms.ToString()), cancellation);
    }

    private void UpdatePools(NodeSnapshot snapshot)
    {
        var current = new HashSet<(string, string)>();
        foreach (var p in snapshot.Pools)
        {
            string pool = p.Database, user = p.User;
            current.Add((pool, user));
            _clients.WithLabels(pool, user, "active").Set(p.ClientsActive);
            _clients.WithLabels(pool, user, "waiting").Set(p.ClientsWaiting);
            _servers.WithLabels(pool, user, "active").Set(p.ServersActive);
            _servers.WithLabels(pool, user, "idle").Set(p.ServersIdle);
            _servers.WithLabels(pool, user, "used").Set(p.ServersUsed);
            _servers.WithLabels(pool, user, "login").Set(p.ServersLogin);
            _poolSize.WithLabels(pool, user).Set(p.PoolSize);
            _maxWait.WithLabels(pool, user).Set(p.MaxWaitUs / 1e6);
            _owned.WithLabels(pool, user).Set(p.Owned ? 1 : 0);
            _paused.WithLabels(pool, user).Set(p.Paused ? 1 : 0);
            _disabled.WithLabels(pool, user).Set(p.Disabled ? 1 : 0);
            SetTotal(_transactions, p.Totals.XactCount, pool, user);
            SetTotal(_queries, p.Totals.QueryCount, pool, user);
            SetTotal(_received, p.Totals.BytesReceived, pool, user);
            SetTotal(_sent, p.Totals.BytesSent, pool, user);
            SetTotal(_wait, p.Totals.WaitTimeUs / 1e6, pool, user);
        }
        // A pool or user gone from the config (RELOAD) stops being reported rather than freezing at its last values.
        foreach (var (pool, user) in _published)
            if (!current.Contains((pool, user)))
                Unpublish(pool, user);
        _published = current;
    }

    private void Unpublish(string pool, string user)
    {
        foreach (var state in ClientStates)
            _clients.RemoveLabelled(pool, user, state);
        foreach (var state in ServerStates)
            _servers.RemoveLabelled(pool, user, state);
        foreach (var gauge in new[] { _poolSize, _maxWait, _owned, _paused, _disabled })
            gauge.RemoveLabelled(pool, user);
        foreach (var counter in new[] { _transactions, _queries, _received, _sent, _wait })
            counter.RemoveLabelled(pool, user);
    }

    private void UpdateNode(NodeSnapshot snapshot)
    {
        _clientConnections.Set(snapshot.ClientCount);
        _relayed.Set(snapshot.RelayedClients);
        _maxRelayed.Set(snapshot.MaxRelayedConnections);

        // Akka's own view, read without a message: cheap enough for every scrape.
        var state = _cluster.State;
        var byStatus = new Dictionary<MemberStatus, int>();
        foreach (var member in state.Members)
            byStatus[member.Status] = byStatus.GetValueOrDefault(member.Status) + 1;
        foreach (var status in Enum.GetValues<MemberStatus>())
            _members.WithLabels(StatusLabel(status)).Set(byStatus.GetValueOrDefault(status));
        _unreachable.Set(state.Unreachable.Count);
    }

    /// <summary>
    /// Counters follow the node's running totals. A total that went down was started again (its
    /// counters were recreated): the series starts again too, which Prometheus reads as a reset.
    /// </summary>
    private static void SetTotal(Counter counter, double total, string pool, string user)
    {
        var child = counter.WithLabels(pool, user);
        if (total < child.Value)
        {
            child.Remove();
            child = counter.WithLabels(pool, user);
        }
        child.IncTo(total);
    }

    /// <summary>WeaklyUp → weakly_up: label values in Prometheus's snake case.</summary>
    internal static string StatusLabel(MemberStatus status)
    {
        var name = status.ToString();
        var label = new StringBuilder(name.Length + 4);
        foreach (var c in name)
        {
            if (char.IsUpper(c) && label.Length > 0)
                label.Append('_');
            label.Append(char.ToLowerInvariant(c));
        }
        return label.ToString();
    }
}
