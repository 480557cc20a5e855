using Akka.Actor;
using Pooler.Core.Servers;

namespace Pooler.Core.Pools;

/// <summary>
/// The conversation of a <see cref="PoolSupervisor"/>: every message it takes and sends. Sessions
/// reach it through the shard region once (<see cref="GetPoolRef"/>) and then talk to it directly.
/// </summary>
public static class PoolProtocol
{
    /// <summary>Asks the pool's supervisor for its own reference; answered with <see cref="PoolRef"/>.</summary>
    public sealed record GetPoolRef;

    /// <summary>The supervisor, and each user's desk, where sessions on the pool's node take and return connections.</summary>
    public sealed record PoolRef(IActorRef Supervisor, IReadOnlyDictionary<string, ServerDesk> Desks);

    /// <summary>A session queued at <paramref name="User"/>'s desk while the pool was below pool_size:
    /// the supervisor opens a connection if the line needs one.</summary>
    public sealed record ServerWanted(string User);

    /// <summary>The answer to a queued session: a server connection, lent until it is returned.</summary>
    public sealed record Assigned(ServerConnection Server, long RequestId);

    /// <summary>The answer to a queued session when no server connection can be had; the session passes the error on.</summary>
    public sealed record CheckoutFailed(string SqlState, string Message, long RequestId);

    /// <summary>The session is done with a connection the desk would not take back. <paramref name="Reusable"/> false means its
    /// state is unknown (client vanished mid-transaction, protocol error) and it must be closed.</summary>
    public sealed record Checkin(ServerConnection Server, bool Reusable);

    /// <summary>The session parameters of the pool's servers, for the ParameterStatus a client gets at login.</summary>
    public sealed record GetServerParameters(string User);

    public sealed record CurrentServerParameters(IReadOnlyDictionary<string, string> Parameters);

    internal sealed record ServerConnected(string User, ServerConnection Server);

    internal sealed record ServerConnectFailed(string User, string SqlState, string Message);

    internal sealed record ServerClosed(string User, ServerConnection Server, string Reason);

    internal sealed class JanitorTick
    {
        public static readonly JanitorTick Instance = new();
        private JanitorTick() { }
    }
}
