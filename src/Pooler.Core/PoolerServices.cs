using Akka.Actor;
using Microsoft.Extensions.Logging;
using Pooler.Config;
using Pooler.Core.Clients;
using Pooler.Core.Cluster;

namespace Pooler.Core;

/// <summary>What every client session on a node shares: the configuration, the pool region, the cancel keys.</summary>
public sealed class PoolerServices(PoolerConfig config, IActorRef poolRegion, ClusterNode node, IActorRef cancelRouter,
    ILoggerFactory loggerFactory)
{
    private int _clients;
    private int _relayed;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _stopNow = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private PoolerConfig _config = config;

    /// <summary>The configuration being served; RELOAD replaces it (new logins see the new one).</summary>
    public PoolerConfig Config
    {
        get => Volatile.Read(ref _config);
        set => Volatile.Write(ref _config, value);
    }

    /// <summary>Counters and averages of every pool on this node (SHOW STATS, /metrics).</summary>
    public Stats.NodeStats Stats { get; } = new();

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ClientSession> _sessions = new();

    /// <summary>Every client session on this node right now, relayed ones included (SHOW CLIENTS).</summary>
    public ICollection<ClientSession> Sessions => _sessions.Values;

    private Lazy<Admin.IAdminBackend>? _admin;

    /// <summary>The admin console's backend (null when the host has none).</summary>
    public Admin.IAdminBackend? Admin => _admin?.Value;

    public void UseAdmin(Func<Admin.IAdminBackend> backend) => _admin = new Lazy<Admin.IAdminBackend>(backend);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _disabled = new(StringComparer.Ordinal);

    /// <summary>DISABLE db: new clients of the pool are refused on this node until ENABLE.</summary>
    public bool IsDisabled(string pool) => _disabled.ContainsKey(pool);

    public void SetDisabled(string pool, bool disabled)
    {
        if (disabled)
            _disabled[pool] = true;
        else
            _disabled.TryRemove(pool, out _);
    }

    internal void Track(ClientSession session) => _sessions[session.Id] = session;
    internal void Untrack(ClientSession session) => _sessions.TryRemove(session.Id, out _);

    /// <summary>The shard region of <c>PoolSupervisor</c> entities (entity id = pool name).</summary>
    public IActorRef PoolRegion { get; } = poolRegion;

    public ILoggerFactory LoggerFactory { get; } = loggerFactory;

    public CancelRegistry CancelKeys { get; } = new(() => node.Tag);

    /// <summary>This node in the cluster: its address, relay endpoint and the pools it owns.</summary>
    public ClusterNode Node { get; } = node;

    /// <summary>Forwards cancel requests for sessions on other nodes (<see cref="CancelRouter"/>).</summary>
    public IActorRef CancelRouter { get; } = cancelRouter;

    /// <summary>Clients relayed to this node from other nodes right now.</summary>
    public int RelayedCount => Volatile.Read(ref _relayed);

    /// <summary>Counts a relayed client against max_relayed_connections; false when the limit is reached.</summary>
    public bool TryAdmitRelayed()
    {
        if (Interlocked.Increment(ref _relayed) <= Config.Cluster.MaxRelayedConnections)
            return true;
        Interlocked.Decrement(ref _relayed);
        return false;
    }

    public void ReleaseRelayed()
    {
        if (Interlocked.Decrement(ref _relayed) == 0 && ClientCount == 0 && _stopping.IsCancellationRequested)
            _drained.TrySetResult();
    }

    public int ClientCount => Volatile.Read(ref _clients);

    /// <summary>Counts a new client against max_client_conn; false when the limit is reached.</summary>
    public bool TryAdmitClient()
    {
        var limit = Config.General.MaxClientConnections;
        while (true)
        {
            var current = Volatile.Read(ref _clients);
            if (limit > 0 && current >= limit)
                return false;
            if (Interlocked.CompareExchange(ref _clients, current + 1, current) == current)
                return true;
        }
    }

    public void ReleaseClient()
    {
        if (Interlocked.Decrement(ref _clients) == 0 && RelayedCount == 0 && _stopping.IsCancellationRequested)
            _drained.TrySetResult();
    }

    /// <summary>Completes when, after <see cref="BeginShutdown"/>, the last client has gone.</summary>
    public Task Drained => _drained.Task;

    /// <summary>Cancelled when the node starts shutting down: sessions finish their transaction, then close.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Cancelled when shutdown_timeout has passed: every session closes at once.</summary>
    public CancellationToken StopNow => _stopNow.Token;

    /// <summary>Begins a graceful shutdown; after shutdown_timeout the remaining sessions are cut.</summary>
    public void BeginShutdown()
    {
        if (_stopping.IsCancellationRequested)
            return;
        _stopping.Cancel();
        if (ClientCount == 0 && RelayedCount == 0)
            _drained.TrySetResult();
        _stopNow.CancelAfter(Config.General.ShutdownTimeout > TimeSpan.Zero ? Config.General.ShutdownTimeout : TimeSpan.Zero);
    }
}
