using Akka.Cluster.Sharding;
using Pooler.Core.Cluster;

namespace Pooler.Core.Pools;

/// <summary>Marker for the shard region of <see cref="PoolSupervisor"/> entities (entity id = pool name).</summary>
public sealed class PoolRegion
{
    public const string TypeName = "pool";

    /// <summary>Where <paramref name="pool"/> lives now, or null when no answer came in time (it is moving, or its node failed).</summary>
    public static async Task<PoolProtocol.PoolLocation?> LocateAsync(Akka.Actor.IActorRef region, string pool, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        try
        {
            return await Akka.Actor.Futures.Ask<PoolProtocol.PoolLocation>(region,
                new PoolEnvelope(pool, new PoolProtocol.GetPoolLocation()), timeout, cancellationToken);
        }
        catch (Akka.Actor.AskTimeoutException)
        {
            return null;
        }
    }
}

/// <summary>A message for the supervisor of pool <paramref name="PoolName"/>, sent through the region.</summary>
public sealed record PoolEnvelope(string PoolName, object Message) : IClusterMessage;

/// <summary>
/// Routes <see cref="PoolEnvelope"/>s by pool name. Each pool is a shard of its own, so that the
/// allocation strategy (<see cref="PoolAllocationStrategy"/>) places pools, not hash buckets of pools.
/// </summary>
public sealed class PoolMessageExtractor : IMessageExtractor
{
    public string EntityId(object message) => message switch
    {
        PoolEnvelope envelope => envelope.PoolName,
        _ => null!,
    };

    public object EntityMessage(object message) => message switch
    {
        PoolEnvelope envelope => envelope.Message,
        _ => message,
    };

    public string ShardId(object message) => EntityId(message);

    public string ShardId(string entityId, object? messageHint = null) => entityId;
}
