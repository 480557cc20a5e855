using System.Collections.Immutable;
using Akka.Actor;
using Pooler.Core.Cluster;
using Xunit;

namespace Pooler.Core.Tests.Cluster;

/// <summary>Pools go to the least-loaded node and stay there unless an operator moves them.</summary>
public sealed class PoolAllocationStrategyTests
{
    private static readonly Address Self = Address.Parse("akka.tcp://pooler@10.0.0.1:4053");

    private sealed class Region(string address) : MinimalActorRef
    {
        public override ActorPath Path { get; } = new RootActorPath(Address.Parse(address)) / "system" / "sharding" / "pool";
        public override IActorRefProvider Provider => null!;
    }

    private static readonly Region A = new("akka.tcp://pooler@10.0.0.1:4053");
    private static readonly Region B = new("akka.tcp://pooler@10.0.0.2:4053");
    private static readonly Region C = new("akka.tcp://pooler@10.0.0.3:4053");

    private static IImmutableDictionary<IActorRef, IImmutableList<string>> Allocations(params (IActorRef Region, string[] Pools)[] regions) =>
        regions.ToImmutableDictionary(r => r.Region, r => (IImmutableList<string>)r.Pools.ToImmutableList());

    [Fact]
    public async Task A_new_pool_goes_to_the_node_with_the_fewest_pools()
    {
        var strategy = new PoolAllocationStrategy(() => Self);
        var chosen = await strategy.AllocateShard(A, "new", Allocations((A, ["p1", "p2"]), (B, ["p3"]), (C, [])));
        Assert.Same(C, chosen);
    }

    [Fact]
    public async Task On_a_tie_the_asking_node_gets_the_pool()
    {
        var strategy = new PoolAllocationStrategy(() => Self);
        var chosen = await strategy.AllocateShard(B, "new", Allocations((A, []), (B, []), (C, [])));
        Assert.Same(B, chosen);
    }

    [Fact]
    public async Task Pools_never_move_by_themselves_however_uneven()
    {
        var strategy = new PoolAllocationStrategy(() => Self);
        var moving = await strategy.Rebalance(Allocations((A, ["p1", "p2", "p3", "p4"]), (B, []), (C, [])), ImmutableHashSet<string>.Empty);
        Assert.Empty(moving);
    }

    [Fact]
    public async Task A_requested_move_hands_the_pool_off_and_allocates_it_on_the_target()
    {
        var strategy = new PoolAllocationStrategy(() => Self);
        var allocations = Allocations((A, ["p1", "p2"]), (B, ["p3"]), (C, []));
        strategy.RequestMove("p1", "akka.tcp://pooler@10.0.0.2:4053");

        var moving = await strategy.Rebalance(allocations, ImmutableHashSet<string>.Empty);
        Assert.Equal(["p1"], moving);

        // C is least loaded, but the operator asked for B.
        var chosen = await strategy.AllocateShard(C, "p1", Allocations((A, ["p2"]), (B, ["p3"]), (C, [])));
        Assert.Same(B, chosen);
        Assert.Empty(await strategy.Rebalance(Allocations((A, ["p2"]), (B, ["p3", "p1"]), (C, [])), ImmutableHashSet<string>.Empty));
    }
}
