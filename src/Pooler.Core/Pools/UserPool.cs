using Akka.Actor;
using Pooler.Config;
using Pooler.Core.Servers;

namespace Pooler.Core.Pools;

/// <summary>A session waiting for a server connection, in arrival order.</summary>
internal sealed record Waiter(IActorRef ReplyTo, long RequestId, DateTime Since);

/// <summary>
/// The server connections of one user of a pool (PgCat's pools are per database and user): the
/// idle ones, every open one, the ones still connecting, and the sessions waiting in line.
/// </summary>
internal sealed class UserPool(UserConfig user, ServerTarget target)
{
    public UserConfig User { get; } = user;
    public ServerTarget Target { get; } = target;
    public IdleServers Idle { get; } = new();
    public HashSet<ServerConnection> Open { get; } = [];
    public LinkedList<Waiter> Waiters { get; } = new();
    public int Connecting { get; set; }

    /// <summary>Connections that count against pool_size: open ones and ones being opened.</summary>
    public int Total => Open.Count + Connecting;

    public bool RemoveWaiter(IActorRef replyTo, long requestId)
    {
        for (var node = Waiters.First; node is not null; node = node.Next)
        {
            if (node.Value.RequestId == requestId && node.Value.ReplyTo.Equals(replyTo))
            {
                Waiters.Remove(node);
                Idle.WaiterLeft();
                return true;
            }
        }
        return false;
    }

    /// <summary>Removes a connection whose backend is gone from every list.</summary>
    public void Forget(ServerConnection server)
    {
        Open.Remove(server);
        RemoveIdle(server);
    }

    /// <summary>Takes a connection off the idle list (it is being closed, or is gone).</summary>
    public void RemoveIdle(ServerConnection server) => Idle.Remove(server);
}
