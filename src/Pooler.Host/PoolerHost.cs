using System.Net;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.AspNetCore.Connections;
using Akka.Cluster.Sharding;
using Pooler.Config;
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
        // As for server sockets (ServerConnection): run pipe continuations inline, no hop per read.
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(new IPEndPoint(PortCheck.ResolveBindAddress(config.General.Host), config.General.Port),
                listen => listen.UseConnectionHandler<ClientConnectionHandler>());
        });

        builder.Services.AddAkka(config.Cluster.SystemName, (akka, services) =>
            ConfigureAkka(akka, config, services.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddHostedService<StartupReport>();
        builder.Services.AddSingleton<ClientConnectionHandler>();
        builder.Services.AddHostedService<SessionDrain>();

        return builder.Build();
    }

    private static void ConfigureAkka(AkkaConfigurationBuilder akka, PoolerConfig config, ILoggerFactory loggerFactory)
    {
        var cluster = config.Cluster;
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
            // The host stops the actor system after sessions have drained (SessionDrain), not the CLR
            // exit hook, which would stop the pools the moment SIGTERM arrives.
            .AddHocon("akka.coordinated-shutdown.run-by-clr-shutdown-hook = off", HoconAddMode.Prepend)
            // Durable DData pulls in LMDB and is not needed: the shard coordinator's state is rebuilt.
            .AddHocon("akka.cluster.sharding.distributed-data.durable.keys = []", HoconAddMode.Prepend)
            .WithShardRegion<PoolRegion>(PoolRegion.TypeName,
                poolName => PoolSupervisor.Props(
                    config.FindPool(poolName) ?? throw new InvalidOperationException($"no pool named {poolName}"),
                    config.General, loggerFactory),
                new PoolMessageExtractor(),
                new ShardOptions
                {
                    StateStoreMode = StateStoreMode.DData,
                    RememberEntities = false,
                    // Sessions talk to their pool directly, which sharding does not count as activity.
                    ShouldPassivateIdleEntities = false,
                });
    }
}

/// <summary>Where the running configuration came from (for RELOAD and logs).</summary>
public sealed record ConfigSource(string Path);
