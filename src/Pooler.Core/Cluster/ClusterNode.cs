using System.Collections.Concurrent;
using Akka.Actor;
using Pooler.Config;
using static Pooler.Core.Pools.PoolProtocol;

namespace Pooler.Core.Cluster;

/// <summary>
/// This node as the rest of the cluster sees it: its address, where it takes relayed clients and
/// cancel requests, and the pools it owns right now (their supervisors register here, so that
/// sessions on this node reach their desks without a message).
/// </summary>
public sealed class ClusterNode(PoolerConfig config, Func<Address> selfAddress)
{
    private readonly ConcurrentDictionary<string, LocalPool> _pools = new(StringComparer.Ordinal);

    public string SelfAddress => selfAddress().ToString();

    /// <summary>The 7-bit tag this node puts in the process ids of its clients' cancel keys.</summary>
    public int Tag => NodeTag.Of(SelfAddress);

    public string RelayHost => config.Cluster.PublicHostname;
    public int RelayPort => config.Cluster.RelayPort;

    /// <summary>Where other nodes send cancel requests for sessions on this node (the client listener).</summary>
    public string ClientHost => IsAnyAddress(config.General.Host) ? config.Cluster.PublicHostname : config.General.Host;
    public int ClientPort => config.General.Port;

    public PoolLocation LocationOf(string poolName) =>
        new(poolName, SelfAddress, RelayHost, RelayPort, ClientHost, ClientPort);

    public void Register(string poolName, LocalPool pool)
    {
        _pools[poolName] = pool;
        _remoteOwners.TryRemove(poolName, out _);
    }

    /// <summary>Forgets a pool's supervisor (unless a newer one has registered meanwhile).</summary>
    public void Unregister(string poolName, IActorRef supervisor)
    {
        if (_pools.TryGetValue(poolName, out var pool) && pool.Supervisor.Equals(supervisor))
            _pools.TryRemove(new KeyValuePair<string, LocalPool>(poolName, pool));
    }

    public LocalPool? FindLocal(string poolName) => _pools.GetValueOrDefault(poolName);

    // Where pools of other nodes live, and their servers' parameters, as last heard: a login on
    // this node then needs no round trip to the owner. A session that finds an entry wrong (its
    // relay is refused or cannot connect, or the pool moved) forgets it and asks the cluster again.
    private readonly ConcurrentDictionary<string, PoolLocation> _remoteOwners = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> _remoteParameters = new(StringComparer.Ordinal);

    /// <summary>The node another node's pool was last found on (null: ask the cluster).</summary>
    public PoolLocation? KnownOwner(string poolName) => _remoteOwners.GetValueOrDefault(poolName);

    public void RememberOwner(PoolLocation location)
    {
        if (location.OwnerAddress != SelfAddress)
            _remoteOwners[location.PoolName] = location;
    }

    public IReadOnlyDictionary<string, string>? KnownServerParameters(string poolName) =>
        _remoteOwners.ContainsKey(poolName) ? _remoteParameters.GetValueOrDefault(poolName) : null;

    public void RememberServerParameters(string poolName, IReadOnlyDictionary<string, string> parameters) =>
        _remoteParameters[poolName] = parameters;

    /// <summary>Drops what this node believed about where a pool lives.</summary>
    public void ForgetOwner(string poolName) => _remoteOwners.TryRemove(poolName, out _);

    public IReadOnlyCollection<string> LocalPoolNames => _pools.Keys.ToList();

    private static bool IsAnyAddress(string host) => host is "0.0.0.0" or "::" or "*" or "";
}

/// <summary>
/// Which node a cancel key belongs to: bits 24–30 of its process id carry a tag derived from the
/// node's cluster address. Tags of two nodes can collide; a forwarded cancel then reaches both,
/// and only the node that knows the key (and its secret) acts on it.
/// </summary>
public static class NodeTag
{
    public static int Of(string address)
    {
        var hash = 2166136261u; // FNV-1a: stable across processes, unlike string.GetHashCode
        foreach (var c in address)
            hash = (hash ^ c) * 16777619u;
        return (int)(hash % 127) + 1;
    }

    public static int OfProcessId(int processId) => (processId >> 24) & 0x7F;

    public static int ProcessId(int tag, int random24) => (tag << 24) | (random24 & 0xFFFFFF);
}
