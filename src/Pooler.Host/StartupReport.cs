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
        cluster.RegisterOnMemberUp(() =>
        {
            logger.LogInformation("cluster node {Address} is Up (roles: {Roles})",
                cluster.SelfAddress, string.Join(",", cluster.SelfRoles));
            // Start every pool's supervisor now rather than at its first client, so that
            // min_pool_size connections are open before anyone asks.
            foreach (var pool in config.Pools)
                poolRegion.ActorRef.Tell(new PoolEnvelope(pool.Name, new PoolProtocol.GetPoolRef()));
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation("pooler stopping");
        return Task.CompletedTask;
    }
}
