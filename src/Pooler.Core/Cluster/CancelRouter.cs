using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.Logging;
using Pooler.Core.Clients;

namespace Pooler.Core.Cluster;

/// <summary>
/// Cancel requests across nodes. A client (or a load balancer in front of the cluster) may send
/// its CancelRequest to any node; the key's process id names the node that gave it out
/// (<see cref="NodeTag"/>). A node that does not know the key forwards it here, and this actor
/// passes it to the cancel router of every member with that tag, which cancels the query if the
/// key and secret match a session there that is running one.
/// </summary>
public sealed class CancelRouter : ReceiveActor
{
    public const string Name = "cancel-router";

    /// <summary>A CancelRequest for a key this node did not give out (sent by a local session).</summary>
    public sealed record Route(int ProcessId, int Secret);

    public CancelRouter(Func<CancelRegistry> keys, ILoggerFactory loggerFactory)
    {
        var log = loggerFactory.CreateLogger<CancelRouter>();
        var cluster = Akka.Cluster.Cluster.Get(Context.System);

        Receive<Route>(route =>
        {
            var tag = NodeTag.OfProcessId(route.ProcessId);
            var targets = cluster.State.Members
                .Where(m => m.Status == MemberStatus.Up && !m.Address.Equals(cluster.SelfAddress) &&
                            NodeTag.Of(m.Address.ToString()) == tag)
                .ToList();
            if (targets.Count == 0)
            {
                log.LogInformation("cancel request for key {Pid} matches no cluster member; ignored", route.ProcessId);
                return;
            }
            foreach (var member in targets)
                Context.ActorSelection(new RootActorPath(member.Address) / "user" / Name)
                    .Tell(new ForwardedCancel(route.ProcessId, route.Secret));
        });

        Receive<ForwardedCancel>(cancel =>
        {
            var session = keys().Find(cancel.ProcessId, cancel.Secret);
            if (session is null)
                return; // another node with the same tag, or the session has ended
            log.LogInformation("cancel request for client {Client} forwarded from {Node}", session.Id, Sender.Path.Address);
            _ = session.CancelRunningQueryAsync();
        });
    }

    public static Props Props(Func<CancelRegistry> keys, ILoggerFactory loggerFactory) =>
        Akka.Actor.Props.Create(() => new CancelRouter(keys, loggerFactory));
}
