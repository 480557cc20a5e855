namespace Pooler.Core.Stats;

// What a node reports about itself, and the cluster about all its nodes: the data behind the
// admin console's SHOW commands, /metrics and the dashboard. Plain records, serialized as JSON both
// between nodes (ClusterMessageSerializer) and over HTTP (/api/cluster).

/// <summary>Counters of one pool and user on one node since the node started (PgBouncer's SHOW STATS_TOTALS).</summary>
/// <param name="QueryTimeBuckets">Queries by duration: count per bucket of <see cref="PoolCounters.BucketBoundsSeconds"/>, the last one above every bound.</param>
/// <param name="XactTimeBuckets">Transactions by duration, the same buckets.</param>
public sealed record PoolTotals(long XactCount, long QueryCount, long BytesReceived, long BytesSent,
    long XactTimeUs, long QueryTimeUs, long WaitTimeUs, long[] QueryTimeBuckets, long[] XactTimeBuckets)
{
    public static PoolTotals Zero { get; } = new(0, 0, 0, 0, 0, 0, 0,
        new long[PoolCounters.BucketBoundsSeconds.Length + 1], new long[PoolCounters.BucketBoundsSeconds.Length + 1]);
}

/// <summary>
/// PgBouncer's SHOW STATS_AVERAGES over the last stats period: counts and bytes per second; times
/// are the average duration of one transaction / query, and the average wait per transaction, in µs.
/// </summary>
public sealed record PoolAverages(long XactCount, long QueryCount, long BytesReceived, long BytesSent,
    long XactTimeUs, long QueryTimeUs, long WaitTimeUs)
{
    public static PoolAverages Zero { get; } = new(0, 0, 0, 0, 0, 0, 0);
}

/// <summary>
/// One pool and user as seen on one node. Client counts are this node's clients (relayed ones
/// included on the owner); server counts are non-zero only on the node that owns the pool.
/// </summary>
/// <param name="Owned">The pool lives on this node (its supervisor and server connections are here).</param>
/// <param name="ClientsActive">Clients holding a server connection, or logged in and not waiting (PgBouncer's cl_active).</param>
/// <param name="ClientsWaiting">Clients waiting for a server connection (cl_waiting).</param>
/// <param name="ServersActive">Server connections lent to a client (sv_active).</param>
/// <param name="ServersIdle">Idle server connections ready for use (sv_idle).</param>
/// <param name="ServersUsed">Idle server connections that need a health check before use (sv_used).</param>
/// <param name="ServersLogin">Server connections logging in (sv_login).</param>
/// <param name="MaxWaitUs">How long the oldest waiting client has waited, in µs (maxwait).</param>
public sealed record PoolSnapshot(string Database, string User, string PoolMode, bool Owned,
    int PoolSize, int MinPoolSize, int ReservePool,
    int ClientsActive, int ClientsWaiting,
    int ServersActive, int ServersIdle, int ServersUsed, int ServersLogin,
    long MaxWaitUs, bool Paused, bool Disabled, PoolTotals Totals, PoolAverages Averages);

/// <summary>One client connection on a node (SHOW CLIENTS).</summary>
/// <param name="State">active (logged in, holding a server or not waiting for one), waiting, or login.</param>
/// <param name="Link">The server connection it holds right now (a <see cref="ServerInfo.Id"/>), if any.</param>
/// <param name="ProcessId">The process id in the BackendKeyData this client was given.</param>
/// <param name="RelayedFrom">For a client relayed here, the entry node's cluster address.</param>
public sealed record ClientInfo(string Id, string User, string Database, string State,
    string Addr, int Port, string LocalAddr, int LocalPort, DateTime ConnectTime, DateTime RequestTime,
    long WaitUs, string? Link, int ProcessId, string? ApplicationName, string? RelayedFrom);

/// <summary>One server connection of a pool owned by a node (SHOW SERVERS).</summary>
/// <param name="State">active (lent to a client), idle, used (idle, to be checked before use), or login.</param>
/// <param name="Link">The client holding it right now (a <see cref="ClientInfo.Id"/>), if any.</param>
/// <param name="RemotePid">The PostgreSQL backend's process id.</param>
public sealed record ServerInfo(string Id, string User, string Database, string State,
    string Addr, int Port, string LocalAddr, int LocalPort, DateTime ConnectTime, DateTime RequestTime,
    string? Link, int RemotePid, string? ApplicationName);

/// <summary>Everything one node reports about itself.</summary>
/// <param name="Node">The node's cluster address (akka.tcp://system@host:port).</param>
/// <param name="ClientEndpoint">Where clients connect to this node (host:port).</param>
/// <param name="HttpEndpoint">This node's [http] listener (host:port), null when off.</param>
public sealed record NodeSnapshot(string Node, string ClientEndpoint, string? HttpEndpoint, DateTime TakenAt, DateTime StartedAt,
    IReadOnlyList<PoolSnapshot> Pools, IReadOnlyList<ClientInfo> Clients, IReadOnlyList<ServerInfo> Servers,
    int ClientCount, int RelayedClients, int MaxRelayedConnections, IReadOnlyList<BanInfo>? Bans = null);

/// <summary>A server left out of its pool's routing until <paramref name="Until"/> (SHOW BANS), reported by the pool's node.</summary>
public sealed record BanInfo(string Database, int Shard, string Host, int Port, string Role, DateTime Until, string Reason);

/// <summary>A cluster member (SHOW NODES, the dashboard).</summary>
/// <param name="Status">Akka's member status: Joining, WeaklyUp, Up, Leaving, Exiting, Down, Removed.</param>
/// <param name="UpSince">When this member was first seen Up by the node asked (null if not yet).</param>
/// <param name="Pools">The pools it owns.</param>
public sealed record MemberInfo(string Address, string Status, IReadOnlyList<string> Roles, bool Reachable,
    bool Leader, DateTime? UpSince, IReadOnlyList<string> Pools);

/// <summary>Which node owns a pool right now (null: nowhere, e.g. while it moves).</summary>
public sealed record PoolPlacement(string Pool, string? Owner);

/// <summary>The whole cluster as one node sees it: members, placement, and every reachable node's own report.</summary>
/// <param name="Self">The address of the node that answered.</param>
/// <param name="Nodes">One report per member that answered in time.</param>
public sealed record ClusterSnapshot(DateTime TakenAt, string Self, string? Leader, IReadOnlyList<MemberInfo> Members,
    IReadOnlyList<PoolPlacement> Placement, IReadOnlyList<NodeSnapshot> Nodes);
