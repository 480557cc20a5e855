using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.Logging;

namespace Pooler.Core.Cluster;

/// <summary>
/// Takes an operator's request to move a pool. Every node runs one: the request is passed to all
/// of them, so that whichever node runs the shard coordinator (the oldest) knows of it; the
/// coordinator's <see cref="PoolAllocationStrategy"/> then hands the pool off (it drains) and
/// starts it on the node asked for.
/// </summary>
public sealed class Placement : ReceiveActor
{
    public const string Name = "placement";

    /// <summary>Sent by the HTTP endpoint on any node: tell every member.</summary>
    public sealed record Broadcast(MovePool Move);

    public Placement(PoolAllocationStrategy allocation, ILoggerFactory loggerFactory)
    {
        var log = loggerFactory.CreateLogger<Placement>();
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        Receive<Broadcast>(broadcast =>
        {
            foreach (var member in cluster.State.Members.Where(m => m.Status == MemberStatus.Up))
                Context.ActorSelection(new RootActorPath(member.Address) / "user" / Name).Tell(broadcast.Move);
        });
        Receive<MovePool>(move =>
        {
            log.LogInformation("pool {Pool}: move to {Target} requested", move.PoolName, move.TargetAddress);
            allocation.RequestMove(move.PoolName, move.TargetAddress);
        });
    }

    public static Props Props(PoolAllocationStrategy allocation, ILoggerFactory loggerFactory) =>
        Akka.Actor.Props.Create(() => new Placement(allocation, loggerFactory));
}
