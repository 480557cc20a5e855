using System.Diagnostics;
using System.Net.Sockets;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Pooler.IntegrationTests;

/// <summary>
/// Three pooler processes on one machine, every one listing all three as seed nodes, form one
/// cluster whatever order they start in, and a node stopped with SIGTERM leaves it cleanly.
/// Membership only: client traffic across nodes needs the relay.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusterFormationTests(PostgresFixture postgres, ITestOutputHelper output)
{
    // Generous for a 2-core machine running three nodes; formation normally takes seconds.
    private static readonly TimeSpan FormationLimit = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan RemovalLimit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Three_nodes_started_last_seed_first_form_one_cluster()
    {
        var clock = Stopwatch.StartNew();
        // node3 and node2 come up before node1, the first seed: they wait for it, and the three
        // form one cluster once node1 is there.
        await using var cluster = await PoolerCluster.StartAsync(postgres.Server, startOrder: [2, 1, 0],
            formationTimeout: FormationLimit);
        output.WriteLine($"three nodes started (3, 2, 1) and all Up everywhere after {clock.Elapsed.TotalSeconds:0.0} s");

        foreach (var observer in cluster.Nodes)
        {
            Assert.True(observer.IsRunning, $"{observer.Name} exited:\n{cluster.Output}");
            foreach (var member in cluster.Nodes)
                Assert.Contains(observer.Process.Lines, line => line.Contains(PoolerCluster.MemberUpLine(member), StringComparison.Ordinal));
            // One cluster, not islands: no node saw any member outside these three.
            var members = observer.Process.Lines
                .Where(line => line.Contains("cluster: member ", StringComparison.Ordinal))
                .Select(line => line[(line.IndexOf("cluster: member ", StringComparison.Ordinal) + "cluster: member ".Length)..].Split(' ')[0])
                .ToHashSet();
            Assert.Subset(cluster.Nodes.Select(n => n.ClusterAddress).ToHashSet(), members);
        }
    }

    [Fact]
    public async Task A_node_stopped_with_sigterm_is_removed_and_the_others_stay_up()
    {
        await using var cluster = await PoolerCluster.StartAsync(postgres.Server, formationTimeout: FormationLimit);
        // node1 is the first seed and the oldest member (it hosts the cluster singletons): the
        // hardest one to lose.
        var leaving = cluster[0];
        var stayers = cluster.Nodes.Skip(1).ToList();

        var before = cluster.LogPositions();
        var clock = Stopwatch.StartNew();
        var exitCode = await leaving.StopAsync(TimeSpan.FromSeconds(30));
        var stopped = clock.Elapsed;
        await cluster.WaitForMemberRemovedAsync(leaving, before, RemovalLimit);
        output.WriteLine($"{leaving.Name} exited {stopped.TotalSeconds:0.0} s after SIGTERM; " +
                         $"both others logged it removed after {clock.Elapsed.TotalSeconds:0.0} s");

        Assert.True(exitCode == 0, $"{leaving.Name} exited with {exitCode} after SIGTERM:\n{cluster.Output}");
        foreach (var stayer in stayers)
        {
            Assert.True(stayer.IsRunning, $"{stayer.Name} exited:\n{cluster.Output}");
            // Still listening for clients.
            using var client = new TcpClient();
            await client.ConnectAsync(stayer.Host, stayer.Port);
            // Nothing happened to the two that stay: neither was removed nor left.
            foreach (var other in stayers)
            {
                var after = stayer.Process.Lines.Skip(before[stayer]).ToList();
                Assert.DoesNotContain(after, line => line.Contains(PoolerCluster.MemberRemovedLine(other), StringComparison.Ordinal));
                Assert.DoesNotContain(after, line => line.Contains($"cluster: member {other.ClusterAddress} is leaving", StringComparison.Ordinal));
            }
        }
    }
}
