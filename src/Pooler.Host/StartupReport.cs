using Akka.Actor;
using Akka.Hosting;
using Pooler.Core.Pools;
using Pooler.Config;

namespace Pooler.Host;

/// <summary>Logs what this node serves when it starts, and when it is Up in the cluster.</summary>
public sealed class StartupReport(
    PoolerConfig config,
    ConfigSource source,
    ActorSystem system,
    IRequiredActor<PoolRegion> poolRegion,
    IHostApplicationLifetime lifetime,
    ILogger<StartupReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation("pooler {Version} starting with {ConfigPath}", PoolerProgram.Version, source.Path);
        foreach (var line in ServingSummary.Describe(config, source.Path))
            logger.LogInformation("{Line}", line);

        // ApplicationStarted fires once every listener is bound: from then on clients get through.
        lifetime.ApplicationStarted.Register(() =>
            logger.LogInformation("ready: accepting clients on {Host}:{Port}", config.General.Host, config.General.Port));

        lifetime.ApplicationStopping.Register(() =>
            logger.LogInformation("shutdown requested: no new sessions; running transactions may finish within shutdown_timeout ({Timeout} ms)",
                config.General.ShutdownTimeout.TotalMilliseconds));

        var cluster = Akka.Cluster.Cluster.Get(system);
        system.ActorOf(Props.Create(() => new ClusterEventLog(logger)), "cluster-event-log");
        cluster.RegisterOnMemberUp(() =>
        {
            logger.LogInformation("cluster node {Address} is Up (roles: {Roles})",
                cluster.SelfAddress, string.Join(",", cluster.SelfRoles));
            // Start every pool's supervisor now rather than at its first client, so that
            // min_pool_size connections are open before anyone asks.
            foreach (var pool in config.Pools)
                poolRegion.ActorRef.Tell(new PoolEnvelope(pool.Name, new PoolProtocol.GetPoolLocation()));
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation("pooler stopping");
        return Task.CompletedTask;
    }
}

/// <summary>One log line per change in the cluster's membership.</summary>
internal sealed class ClusterEventLog : ReceiveActor
{
    public ClusterEventLog(ILogger logger)
    {
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        Receive<Akka.Cluster.ClusterEvent.IMemberEvent>(e =>
        {
            var what = e switch
            {
                Akka.Cluster.ClusterEvent.MemberJoined => "joined",
                Akka.Cluster.ClusterEvent.MemberUp => "is Up",
                Akka.Cluster.ClusterEvent.MemberLeft => "is leaving",
                Akka.Cluster.ClusterEvent.MemberExited => "exited",
                Akka.Cluster.ClusterEvent.MemberRemoved => "was removed",
                Akka.Cluster.ClusterEvent.MemberDowned => "was downed",
                _ => e.GetType().Name,
            };
            logger.LogInformation("cluster: member {Address} {What}", e.Member.Address, what);
        });
        Receive<Akka.Cluster.ClusterEvent.UnreachableMember>(e =>
            logger.LogWarning("cluster: member {Address} is unreachable", e.Member.Address));
        Receive<Akka.Cluster.ClusterEvent.ReachableMember>(e =>
            logger.LogInformation("cluster: member {Address} is reachable again", e.Member.Address));
        Receive<Akka.Cluster.ClusterEvent.CurrentClusterState>(_ => { });
        cluster.Subscribe(Self, Akka.Cluster.ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(Akka.Cluster.ClusterEvent.IMemberEvent), typeof(Akka.Cluster.ClusterEvent.IReachabilityEvent));
    }
}
