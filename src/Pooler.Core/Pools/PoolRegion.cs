using Akka.Cluster.Sharding;

namespace Pooler.Core.Pools;

/// <summary>Marker for the shard region of <see cref="PoolSupervisor"/> entities (entity id = pool name).</summary>
public sealed class PoolRegion
{
    public const string TypeName = "pool";

    /// <summary>About ten times the largest cluster we expect; never change it while a cluster lives.</summary>
    public const int ShardCount = 100;
}

/// <summary>A message for the supervisor of pool <paramref name="PoolName"/>, sent through the region.</summary>
public sealed record PoolEnvelope(string PoolName, object Message);

/// <summary>Routes <see cref="PoolEnvelope"/>s by pool name.</summary>
public sealed class PoolMessageExtractor() : HashCodeMessageExtractor(PoolRegion.ShardCount)
{
    public override string EntityId(object message) => message switch
    {
        PoolEnvelope envelope => envelope.PoolName,
        _ => null!,
    };

    public override object EntityMessage(object message) => message switch
    {
        PoolEnvelope envelope => envelope.Message,
        _ => message,
    };
}
