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

    /// <summary>The supervisor, and each user's idle connections for the sessions' fast path (node-local).</summary>
    public sealed record PoolRef(IActorRef Supervisor, IReadOnlyDictionary<string, IdleServers> Idle);

    /// <summary>A session wants a server connection for <paramref name="User"/>; answered with
    /// <see cref="Assigned"/> or <see cref="CheckoutFailed"/> to <paramref name="ReplyTo"/>.</summary>
    public sealed record Checkout(string User, IActorRef ReplyTo, long RequestId);

    /// <summary>A server connection is lent to the session until it sends <see cref="Checkin"/>.</summary>
    public sealed record Assigned(ServerConnection Server, long RequestId);

    /// <summary>No server connection could be had; the session passes the error to its client.</summary>
    public sealed record CheckoutFailed(string SqlState, string Message, long RequestId);

    /// <summary>A waiting session gave up (its client left); drop it from the queue.</summary>
    public sealed record CancelCheckout(IActorRef ReplyTo, long RequestId);

    /// <summary>The session is done with the connection. <paramref name="Reusable"/> false means its
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
