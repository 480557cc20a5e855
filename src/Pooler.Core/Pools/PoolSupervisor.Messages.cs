using Akka.Actor;
using Pooler.Core.Cluster;
using Pooler.Core.Servers;

namespace Pooler.Core.Pools;

/// <summary>
/// The conversation of a <see cref="PoolSupervisor"/>: every message it takes and sends. Sessions
/// reach it through the shard region once (<see cref="GetPoolRef"/>) and then talk to it directly.
/// </summary>
public static class PoolProtocol
{
    /// <summary>Asks where the pool lives (starting its supervisor if needed); answered with <see cref="PoolLocation"/>.</summary>
    public sealed record GetPoolLocation : IClusterMessage;

    /// <summary>
    /// The node that owns a pool: its cluster address, where it takes relayed clients, and its
    /// client listener (where a relayed session's cancel requests go).
    /// </summary>
    public sealed record PoolLocation(string PoolName, string OwnerAddress, string RelayHost, int RelayPort,
        string ClientHost, int ClientPort) : IClusterMessage;

    /// <summary>The supervisor, and each user's servers (their desks, where sessions on the pool's node take and
    /// return connections, and their health).</summary>
    public sealed record LocalPool(IActorRef Supervisor, IReadOnlyDictionary<string, UserRoutes> Routes);

    /// <summary>A session queued at the desk of connection set <paramref name="Key"/> (ServerTarget.Key) while it
    /// was below pool_size: the supervisor opens a connection if the line needs one.</summary>
    public sealed record ServerWanted(string Key);

    /// <summary>The answer to a queued session when no server connection can be had; the session passes the error on.</summary>
    public sealed record CheckoutFailed(string SqlState, string Message, long RequestId) : IClusterMessage;

    /// <summary>The session is done with a connection the desk would not take back. <paramref name="Reusable"/> false means its
    /// state is unknown (client vanished mid-transaction, protocol error) and it must be closed.</summary>
    public sealed record Checkin(ServerConnection Server, bool Reusable);

    /// <summary>The session parameters of the pool's servers, for the ParameterStatus a client gets at login.</summary>
    public sealed record GetServerParameters(string User) : IClusterMessage;

    public sealed record CurrentServerParameters(IReadOnlyDictionary<string, string> Parameters) : IClusterMessage;

    /// <summary>What the supervisor holds, for SHOW POOLS / SHOW SERVERS on its node; answered with <see cref="PoolReport"/>.</summary>
    public sealed class GetPoolReport
    {
        public static readonly GetPoolReport Instance = new();
        private GetPoolReport() { }
    }

    /// <summary>One user's server side of the pool.</summary>
    public sealed record UserReport(string User, int Active, int Idle, int Used, int Login, int Waiting, long MaxWaitUs,
        IReadOnlyList<Stats.ServerInfo> Servers);

    public sealed record PoolReport(IReadOnlyList<UserReport> Users, bool Paused, IReadOnlyList<Stats.BanInfo> Bans);

    /// <summary>An admin command for the pool (PAUSE, RESUME, RECONNECT, KILL), answered with an <see cref="Admin.AdminResult"/>.</summary>
    public sealed record AdminPool(Admin.AdminCommand Command) : IClusterMessage;

    /// <summary>RELOAD: the pool's new settings (pool_size, users and passwords, timeouts), applied without dropping anyone.</summary>
    public sealed record UpdatePool(Pooler.Config.PoolConfig Pool, Pooler.Config.GeneralConfig General);

    internal sealed record ServerConnected(string Key, ServerConnection Server);

    internal sealed record ServerConnectFailed(string Key, string SqlState, string Message);

    internal sealed record ServerClosed(string Key, ServerConnection Server, string Reason);

    /// <summary>How far each replica's replay is behind its primary, in bytes of WAL (null: not measured this time).</summary>
    internal sealed record ReplicaLagMeasured(IReadOnlyList<(ServerHealth Replica, long? LagBytes)> Lags);

    /// <summary>Sharding's hand-off message for a pool: drain, then stop (see PoolSupervisor.BeginDrain).</summary>
    public sealed class DrainPool
    {
        public static readonly DrainPool Instance = new();
        private DrainPool() { }
    }

    internal sealed class DrainDeadline
    {
        public static readonly DrainDeadline Instance = new();
        private DrainDeadline() { }
    }

    internal sealed class JanitorTick
    {
        public static readonly JanitorTick Instance = new();
        private JanitorTick() { }
    }
}
