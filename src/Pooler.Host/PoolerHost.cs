using System.Net;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Akka.Cluster.Sharding;
using Pooler.Config;
using Akka.Actor;
using Pooler.Core;
using Pooler.Core.Admin;
using Pooler.Core.Stats;
using Pooler.Host.Admin;
using Pooler.Core.Cluster;
using Pooler.Core.Pools;

namespace Pooler.Host;

/// <summary>
/// Builds the process's host: logging, the client listener on [general] host:port, and the
/// Akka.NET actor system joined to the cluster described in [cluster].
/// </summary>
public static class PoolerHost
{
    public static WebApplication Build(PoolerConfig config, string configPath)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "pooler",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
            o.UseUtcTimestamp = true;
        });
        // The framework's own start-up chatter would bury Pooler's one line per event.
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);

        // Kestrel waits this long for sessions to finish their transactions before it aborts them.
        builder.Services.Configure<HostOptions>(o =>
            o.ShutdownTimeout = config.General.ShutdownTimeout + TimeSpan.FromSeconds(5));
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(new ConfigSource(configPath));
        // Kestrel serves HTTP only ([http]); PostgreSQL clients come through ClientListener.
        if (config.Http.Enabled)
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.AddServerHeader = false;
                kestrel.Listen(new IPEndPoint(PortCheck.ResolveBindAddress(config.Http.Host), config.Http.Port));
            });
        else
            builder.Services.AddSingleton<IServer, NoHttpServer>(); // Kestrel with no endpoint would take localhost:5000

        // The node's identity is known once the actor system runs; the pieces built before it ask it then.
        ActorSystem? system = null;
        var node = new ClusterNode(config, () => Akka.Cluster.Cluster.Get(system!).SelfAddress);
        var allocation = new PoolAllocationStrategy(() => Akka.Cluster.Cluster.Get(system!).SelfAddress);
        builder.Services.AddSingleton(node);
        builder.Services.AddSingleton(allocation);
        builder.Services.AddAkka(config.Cluster.SystemName, (akka, services) =>
            ConfigureAkka(akka, config, node, allocation, services, s => system = s));
        builder.Services.AddSingleton(sp =>
        {
            var services = new PoolerServices(config,
                sp.GetRequiredService<IRequiredActor<PoolRegion>>().ActorRef, node,
                sp.GetRequiredService<IRequiredActor<CancelRouter>>().ActorRef,
                sp.GetRequiredService<ILoggerFactory>());
            services.UseAdmin(sp.GetRequiredService<AdminBackend>);
            return services;
        });
        builder.Services.AddSingleton<ConfigReloader>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ConfigReloader>());
        builder.Services.AddSingleton<AdminBackend>();
        builder.Services.AddSingleton<IAdminBackend>(sp => sp.GetRequiredService<AdminBackend>());
        builder.Services.AddSingleton<IStatsSource>(sp => sp.GetRequiredService<AdminBackend>());
        builder.Services.AddHostedService<StartupReport>();
        builder.Services.AddSingleton<ClientConnectionHandler>();
        builder.Services.AddSingleton<RelayConnectionHandler>();
        // Started after the actor system; stopped after SessionDrain has let the sessions finish.
        builder.Services.AddHostedService<ClientListener>();
        builder.Services.AddHostedService<SessionDrain>();

        var app = builder.Build();
        if (config.Http.Enabled)
            PoolerHttp.Map(app, config);
        return app;
    }

    private static void ConfigureAkka(AkkaConfigurationBuilder akka, PoolerConfig config, ClusterNode node,
        PoolAllocationStrategy allocation, IServiceProvider services, Action<ActorSystem> started)
    {
        var cluster = config.Cluster;
        var loggerFactory = services.GetRequiredService<ILoggerFactory>();
        akka.ConfigureLoggers(loggers =>
            {
                // Akka's own info lines (remoting, gossip) drown Pooler's; the cluster events an
                // operator needs are logged by Pooler itself.
                loggers.LogLevel = Akka.Event.LogLevel.WarningLevel;
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            })
            .WithRemoting(new RemoteOptions
            {
                HostName = cluster.Host,
                Port = cluster.Port,
                PublicHostName = cluster.PublicHostname,
            })
            .WithClustering(new ClusterOptions
            {
                SeedNodes = [.. cluster.SeedNodes],
                Roles = [.. cluster.Roles],
                SplitBrainResolver = new KeepMajorityOption(),
            })
            .WithCustomSerializer("pooler-cluster", [typeof(IClusterMessage)], system => new ClusterMessageSerializer(system))
            // The host stops the actor system after sessions have drained (SessionDrain), not the CLR
            // exit hook, which would stop the pools the moment SIGTERM arrives.
            .AddHocon("akka.coordinated-shutdown.run-by-clr-shutdown-hook = off", HoconAddMode.Prepend)
            .AddHocon(ClusterTuning(config), HoconAddMode.Prepend)
            .WithActors((system, registry) =>
            {
                started(system);
                var settings = ClusterShardingSettings.Create(system);
                var region = ClusterSharding.Get(system).Start(PoolRegion.TypeName,
                    poolName =>
                    {
                        // The config served now: RELOAD may have added the pool.
                        var current = services.GetRequiredService<PoolerServices>().Config;
                        return PoolSupervisor.Props(
                            current.FindPool(poolName) ?? throw new InvalidOperationException($"no pool named {poolName}"),
                            current.General, node, loggerFactory);
                    },
                    settings, new PoolMessageExtractor(), allocation, PoolProtocol.DrainPool.Instance);
                registry.Register<PoolRegion>(region);
                registry.Register<Placement>(system.ActorOf(Placement.Props(allocation, loggerFactory), Placement.Name));
                system.ActorOf(NodeAdmin.Props(services.GetRequiredService<AdminBackend>,
                    () => services.GetRequiredService<PoolerServices>().Stats), NodeAdmin.Name);
                registry.Register<CancelRouter>(system.ActorOf(
                    CancelRouter.Props(() => services.GetRequiredService<PoolerServices>().CancelKeys, loggerFactory),
                    CancelRouter.Name));
            });
    }

    /// <summary>
    /// Sharding and failover settings. Sharding keeps its state in DData (not a journal), without
    /// durable keys (LMDB) and without passivation (sessions talk to their pool directly, which
    /// sharding does not count as activity). Failover is tuned for seconds, not the default ~45 s:
    /// a dead node is unreachable after ~3 s of missed heartbeats, downed by keep-majority after 1.5 s
    /// of stable membership, removed at the leader's next tick, and its pools start again on the
    /// survivors 1 s later (the removal margin: the time a node cut off on the minority side has to
    /// down itself and close its server connections, so the pool's budget holds across a partition).
    /// Measured with kill -9 on loopback: clients served again after ~8 s.
    /// The scheduler ticks every 100 ms, not 10 ms: Pooler's own timers run at 1 s, and the default
    /// tick woke the process ~350 times a second at idle (~2.5% of a core).
    /// </summary>
    private static string ClusterTuning(PoolerConfig config)
    {
        var handoff = (int)Math.Ceiling(config.General.ShutdownTimeout.TotalSeconds) + 10;
        return $$"""
            akka.cluster.sharding {
              state-store-mode = ddata
              remember-entities = off
              passivate-idle-entity-after = off
              distributed-data.durable.keys = []
              handoff-timeout = {{handoff}}s
              rebalance-interval = 2s
              retry-interval = 500ms
              coordinator-failure-backoff = 1s
              waiting-for-state-timeout = 2s
              updating-state-timeout = 2s
              shard-start-timeout = 2s
            }
            akka.cluster.split-brain-resolver.stable-after = 1500ms
            akka.cluster.down-removal-margin = 1s
            akka.cluster.failure-detector.acceptable-heartbeat-pause = 2s
            akka.cluster.unreachable-nodes-reaper-interval = 250ms
            akka.cluster.leader-actions-interval = 500ms
            akka.cluster.singleton.hand-over-retry-interval = 500ms
            akka.cluster.singleton-proxy.singleton-identification-interval = 500ms
            akka.scheduler.tick-duration = 100ms
            """;
    }
}

/// <summary>Where the running configuration came from (for RELOAD and logs).</summary>
public sealed record ConfigSource(string Path);
