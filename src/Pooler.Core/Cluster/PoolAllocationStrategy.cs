using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace Pooler.Core.Cluster;

/// <summary>
/// Where pools live. A new pool goes to the node that hosts the fewest pools (the asking node when
/// it ties); a pool never moves by itself while its node is healthy, because moving drops its server
/// connections. It moves only when an operator asks (<see cref="RequestMove"/>): the shard
/// coordinator, which runs this strategy on the oldest node, then hands the pool off and starts it
/// on the node asked for.
/// </summary>
public sealed class PoolAllocationStrategy(Func<Address> selfAddress) : IShardAllocationStrategy
{
    /// <summary>Moves asked for (every node hears of every move; only the coordinator's strategy acts on them).</summary>
    private readonly ConcurrentDictionary<string, string> _moves = new();

    public void RequestMove(string poolName, string targetAddress) => _moves[poolName] = targetAddress;

    public Task<IActorRef> AllocateShard(IActorRef requester, string shardId,
        IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        if (_moves.TryRemove(shardId, out var target) &&
            currentShardAllocations.Keys.FirstOrDefault(region => AddressOf(region) == target) is { } wanted)
            return Task.FromResult(wanted);
        var least = currentShardAllocations
            .OrderBy(a => a.Value.Count)
            .ThenBy(a => a.Key.Equals(requester) ? 0 : 1)
            .Select(a => a.Key)
            .FirstOrDefault() ?? requester;
        return Task.FromResult(least);
    }

    public Task<IImmutableSet<string>> Rebalance(IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations,
        IImmutableSet<string> rebalanceInProgress)
    {
        var moving = ImmutableHashSet.CreateBuilder<string>();
        foreach (var (region, shards) in currentShardAllocations)
        {
            foreach (var shard in shards)
            {
                if (rebalanceInProgress.Contains(shard) || !_moves.TryGetValue(shard, out var target))
                    continue;
                if (AddressOf(region) == target)
                    _moves.TryRemove(shard, out _); // already there
                else if (currentShardAllocations.Keys.Any(r => AddressOf(r) == target))
                    moving.Add(shard);
            }
        }
        return Task.FromResult<IImmutableSet<string>>(moving.ToImmutable());
    }

    /// <summary>The cluster address of a region (a local region's path carries no host).</summary>
    private string AddressOf(IActorRef region) =>
        region.Path.Address.HasGlobalScope ? region.Path.Address.ToString() : selfAddress().ToString();
}
