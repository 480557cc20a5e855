using System.Text;
using Npgsql;

namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>
/// Several real pooler processes on this machine forming one cluster in front of a test PostgreSQL.
/// Every node serves the same pool (<see cref="TestPoolToml"/>), has its own client, cluster, relay
/// and HTTP ports, lists every node's cluster port as a seed node and shares <see cref="Secret"/>.
/// Nodes can be stopped (SIGTERM), killed (SIGKILL) and started again with the same config.
/// </summary>
public sealed class PoolerCluster : IAsyncDisposable
{
    /// <summary>The cluster secret every node shares.</summary>
    public const string Secret = "pooler-test-cluster-secret";

    /// <summary>How long a cluster gets to form (or take a node back) before the harness gives up.</summary>
    public static readonly TimeSpan DefaultFormationTimeout = TimeSpan.FromSeconds(60);

    private PoolerCluster(IReadOnlyList<PoolerClusterNode> nodes) => Nodes = nodes;

    /// <summary>node1, node2, … in that order (index 0 is node1).</summary>
    public IReadOnlyList<PoolerClusterNode> Nodes { get; }

    public PoolerClusterNode this[int index] => Nodes[index];

    /// <summary>The nodes whose process is running now.</summary>
    public IReadOnlyList<PoolerClusterNode> Running => [.. Nodes.Where(n => n.IsRunning)];

    /// <summary>
    /// Writes one config per node, starts the nodes and waits until every node logs every node Up.
    /// </summary>
    /// <param name="startOrder">
    /// Indexes into <see cref="Nodes"/> (0 is node1): the nodes are started one after the other in
    /// this order, each once the one before logs that it accepts clients. Without it, all start at
    /// once. Either way, expect formation to take 5 s or more: a seed that is not listening yet
    /// refuses the first attempt and Akka gates its address for 5 s (retry-gate-closed-for), and
    /// node1 alone waits 5 s (seed-node-timeout) for the other seeds before it forms the cluster.
    /// </param>
    /// <param name="general">more keys for every node's <c>[general]</c></param>
    /// <param name="clusterExtra">more keys for every node's <c>[cluster]</c></param>
    public static async Task<PoolerCluster> StartAsync(PostgresServer server, string poolMode = "transaction",
        int poolSize = 5, int nodeCount = 3, IReadOnlyList<int>? startOrder = null, string general = "",
        TimeSpan? formationTimeout = null, string clusterExtra = "")
    {
        if (nodeCount < 1)
            throw new ArgumentOutOfRangeException(nameof(nodeCount), nodeCount, "at least one node");
        if (startOrder is not null &&
            (startOrder.Count != nodeCount || startOrder.Distinct().Count() != nodeCount || startOrder.Any(i => i < 0 || i >= nodeCount)))
            throw new ArgumentException($"startOrder must name each of the {nodeCount} node indexes once", nameof(startOrder));

        var configs = Enumerable.Range(0, nodeCount).Select(_ => new TestConfig()).ToList();
        var seeds = string.Join(", ", configs.Select(c => $"\"127.0.0.1:{c.ClusterPort}\""));
        var pool = TestPoolToml.For(server, poolMode, poolSize);
        var nodes = new List<PoolerClusterNode>();
        for (var i = 0; i < nodeCount; i++)
            nodes.Add(new PoolerClusterNode(i, configs[i], seeds, general, pool, clusterExtra));

        var cluster = new PoolerCluster(nodes);
        try
        {
            if (startOrder is null)
                await Task.WhenAll(nodes.Select(n => n.StartAsync()));
            else
                foreach (var index in startOrder)
                    await nodes[index].StartAsync();
            await cluster.WaitForMembersUpAsync(formationTimeout ?? DefaultFormationTimeout);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Waits until every running node has logged every running node (itself too) as Up, each since
    /// its process started (one "cluster: member … is Up" line per member and observer).
    /// </summary>
    public async Task WaitForMembersUpAsync(TimeSpan? timeout = null)
    {
        var running = Running;
        await WithClusterLogsAsync(
            from observer in running
            from member in running
            select observer.WaitForLineAsync(MemberUpLine(member), timeout ?? DefaultFormationTimeout));
    }

    /// <summary>
    /// Starts a stopped or killed node again with the same config, and waits until it sees every
    /// running node Up and every other running node sees it Up again.
    /// </summary>
    public async Task RestartAsync(PoolerClusterNode node, TimeSpan? timeout = null)
    {
        var others = Running.Where(n => n != node).ToList();
        var marks = others.ToDictionary(n => n, n => n.LogPosition);
        await node.StartAsync();
        var wait = timeout ?? DefaultFormationTimeout;
        await WithClusterLogsAsync(
            others.Append(node).Select(member => node.WaitForLineAsync(MemberUpLine(member), wait))
                .Concat(others.Select(observer => observer.WaitForLineAsync(MemberUpLine(node), wait, marks[observer]))));
    }

    /// <summary>Where each running node's log is now: pass to <see cref="WaitForMemberRemovedAsync"/>.</summary>
    public IReadOnlyDictionary<PoolerClusterNode, int> LogPositions() => Running.ToDictionary(n => n, n => n.LogPosition);

    /// <summary>
    /// Waits until every other running node logs <paramref name="member"/> as removed from the
    /// cluster, after the log positions in <paramref name="since"/> (see <see cref="LogPositions"/>).
    /// </summary>
    public async Task WaitForMemberRemovedAsync(PoolerClusterNode member, IReadOnlyDictionary<PoolerClusterNode, int>? since = null,
        TimeSpan? timeout = null)
    {
        var observers = Running.Where(n => n != member).ToList();
        await WithClusterLogsAsync(observers.Select(observer =>
            observer.WaitForLineAsync(MemberRemovedLine(member), timeout ?? DefaultFormationTimeout,
                since is not null && since.TryGetValue(observer, out var from) ? from : 0)));
    }

    /// <summary>The text a node logs when <paramref name="member"/> is Up.</summary>
    public static string MemberUpLine(PoolerClusterNode member) => $"cluster: member {member.ClusterAddress} is Up";

    /// <summary>The text a node logs when <paramref name="member"/> has been removed.</summary>
    public static string MemberRemovedLine(PoolerClusterNode member) => $"cluster: member {member.ClusterAddress} was removed";

    /// <summary>Every node's log, each line prefixed with its node's name (for failure messages).</summary>
    public string Output
    {
        get
        {
            var text = new StringBuilder();
            foreach (var node in Nodes)
                foreach (var line in node.AllLines)
                    text.Append(node.Name).Append(": ").AppendLine(line);
            return text.ToString();
        }
    }

    // Fails at the first wait that fails (a node that exited need not hold up the rest until their
    // timeouts), with every node's log: one node's log is easier to read with the others' beside it.
    private async Task WithClusterLogsAsync(IEnumerable<Task<string>> waits)
    {
        var pending = waits.ToList<Task>();
        try
        {
            while (pending.Count > 0)
            {
                var done = await Task.WhenAny(pending);
                pending.Remove(done);
                await done;
            }
        }
        catch (TimeoutException e)
        {
            var first = e.Message.Split('\n')[0];
            throw new TimeoutException($"{first}\n--- logs of every node ---\n{Output}", e);
        }
    }

    /// <summary>
    /// Kills every node that still runs (SIGKILL) and deletes the configs. A graceful stop of the
    /// whole cluster at once takes seconds (the last nodes wait for each other to leave, up to
    /// Akka's 10 s cluster-exiting timeout); a test that wants one calls <see cref="PoolerClusterNode.StopAsync"/>.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Nodes.Select(n => n.DisposeAsync().AsTask()));
    }
}

/// <summary>One node of a <see cref="PoolerCluster"/>: its ports, its config and its (current) process.</summary>
public sealed class PoolerClusterNode : IAsyncDisposable
{
    private readonly TestConfig _config;
    private readonly List<PoolerProcess> _previous = [];
    private PoolerProcess? _process;
    private bool _disposed;

    internal PoolerClusterNode(int index, TestConfig config, string seeds, string general, string pool, string clusterExtra = "")
    {
        Index = index;
        _config = config;
        ConfigPath = config.WriteText($"""
            # {Name} of a test cluster
            [general]
            host = "127.0.0.1"
            port = {Port}
            admin_username = "admin"
            admin_password = "admin-secret-pw"
            {general}

            [cluster]
            node_name = "{Name}"
            host = "127.0.0.1"
            port = {ClusterPort}
            relay_port = {RelayPort}
            seed_nodes = [{seeds}]
            secret = "{PoolerCluster.Secret}"
            {clusterExtra}

            [http]
            host = "127.0.0.1"
            port = {HttpPort}

            {pool}
            """, $"{Name}.toml");
    }

    /// <summary>0 for node1, 1 for node2, …</summary>
    public int Index { get; }
    public string Name => $"node{Index + 1}";
    public string Host => "127.0.0.1";

    /// <summary>The client port (general.port).</summary>
    public int Port => _config.ClientPort;
    public int ClusterPort => _config.ClusterPort;
    public int RelayPort { get; } = FreePort.Next();
    public int HttpPort { get; } = FreePort.Next();

    /// <summary>This node's Akka address, as the cluster's log lines name it.</summary>
    public string ClusterAddress => $"akka.tcp://pooler@127.0.0.1:{ClusterPort}";

    public string ConfigPath { get; }

    /// <summary>The process started last (running, or stopped/killed and not started again).</summary>
    public PoolerProcess Process => _process ?? throw new InvalidOperationException($"{Name} has not been started");

    public bool IsRunning => _process is { Exited.IsCompleted: false };

    /// <summary>Lines the current process has logged so far (see <see cref="WaitForLineAsync"/>).</summary>
    public int LogPosition => _process?.LineCount ?? 0;

    /// <summary>Every line of every process this node has run, oldest first.</summary>
    public IEnumerable<string> AllLines =>
        _previous.Append(_process).OfType<PoolerProcess>().SelectMany((p, i) =>
            i == 0 ? p.Lines : p.Lines.Prepend("--- started again ---"));

    /// <summary>
    /// Starts the node (again, after a stop or kill, with the same config and ports) and waits until
    /// it accepts clients. It need not have joined the cluster yet.
    /// </summary>
    public async Task StartAsync(TimeSpan? timeout = null)
    {
        if (IsRunning)
            throw new InvalidOperationException($"{Name} is already running");
        if (_process is not null)
        {
            _previous.Add(_process);
            await _process.DisposeAsync();
        }
        _process = PoolerProcess.Start("--config", ConfigPath);
        await _process.WaitForLineAsync("ready: accepting clients", timeout);
    }

    /// <summary>SIGTERM: the node leaves the cluster and shuts down; returns its exit code.</summary>
    public Task<int> StopAsync(TimeSpan? timeout = null) => Process.StopAsync(timeout);

    /// <summary>SIGKILL: the node vanishes without leaving; returns its exit code.</summary>
    public Task<int> KillAsync(TimeSpan? timeout = null) => Process.KillAsync(timeout);

    /// <summary>Waits for a line of the current process, from line <paramref name="from"/> on.</summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan? timeout = null, int from = 0)
    {
        try
        {
            return await Process.WaitForLineAsync(text, timeout, from);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{Name}: {e.Message}", e);
        }
    }

    /// <summary>An Npgsql connection string to this node (Npgsql's own pooling off: we are the pool).</summary>
    public string ConnectionString(TestUser? user = null, string database = TestUsers.Database, string extra = "") =>
        TestUsers.ConnectionString(Host, Port, user, database, extra);

    public Task<NpgsqlConnection> OpenAsync(TestUser? user = null, string extra = "") =>
        TestUsers.OpenAsync(Host, Port, user, extra);

    public override string ToString() => $"{Name} (client port {Port}, {ClusterAddress})";

    /// <summary>Kills the process if it still runs (SIGKILL: fast; see <see cref="PoolerCluster.DisposeAsync"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (_process is not null)
        {
            try
            {
                await _process.KillAsync(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
            }
            await _process.DisposeAsync();
        }
        _config.Dispose();
    }
}
