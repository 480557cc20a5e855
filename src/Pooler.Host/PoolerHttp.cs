using Akka.Actor;
using Akka.Hosting;
using Pooler.Config;
using Pooler.Core.Cluster;
using Pooler.Core.Pools;
using Pooler.Host.Http;
using static Pooler.Core.Pools.PoolProtocol;

namespace Pooler.Host;

/// <summary>
/// The node's HTTP endpoints on <c>[http]</c>: where each pool lives (<c>GET /pools</c>), this node's
/// client and relayed-client counts (<c>GET /stats</c>), and moving a pool to another node on
/// purpose (<c>POST /pools/{pool}/move?to=host:port</c>, the target node's cluster address).
/// Metrics, the dashboard and the health check: <see cref="MonitoringEndpoints"/>.
/// </summary>
public static class PoolerHttp
{
    public static void Map(WebApplication app, PoolerConfig config)
    {
        app.MapGet("/pools", async (IRequiredActor<PoolRegion> region, CancellationToken cancellation) =>
        {
            var placements = new List<object>();
            foreach (var pool in config.Pools)
            {
                var location = await LocateAsync(region.ActorRef, pool.Name, cancellation);
                placements.Add(new { pool = pool.Name, owner = location?.OwnerAddress });
            }
            return Results.Ok(placements);
        });

        // This node's client counts (/metrics and /api/cluster show more).
        app.MapGet("/stats", (ClusterNode node, ClientConnectionHandler clients) => Results.Ok(new
        {
            node = node.SelfAddress,
            pools_owned = node.LocalPoolNames,
            clients = clients.ServicesIfStarted?.ClientCount ?? 0,
            relayed_clients = clients.ServicesIfStarted?.RelayedCount ?? 0,
            max_relayed_connections = config.Cluster.MaxRelayedConnections,
        }));

        app.MapPost("/pools/{pool}/move", async (string pool, string? to, IRequiredActor<PoolRegion> region,
            IRequiredActor<Placement> placement, CancellationToken cancellation) =>
        {
            if (config.FindPool(pool) is null)
                return Results.NotFound(new { error = $"no pool named {pool}" });
            if (string.IsNullOrWhiteSpace(to))
                return Results.BadRequest(new { error = "say where: ?to=<host>:<cluster port> or ?to=akka.tcp://<system>@<host>:<port>" });
            var target = to.Contains("://", StringComparison.Ordinal) ? to : $"akka.tcp://{config.Cluster.SystemName}@{to}";
            placement.ActorRef.Tell(new Placement.Broadcast(new MovePool(pool, target)));
            // The coordinator looks at requested moves every rebalance-interval; the pool drains, then starts there.
            var deadline = DateTime.UtcNow + config.General.ShutdownTimeout + TimeSpan.FromSeconds(15);
            while (DateTime.UtcNow < deadline)
            {
                var location = await LocateAsync(region.ActorRef, pool, cancellation);
                if (location?.OwnerAddress == target)
                    return Results.Ok(new { pool, owner = target });
                await Task.Delay(250, cancellation);
            }
            return Results.Accepted(value: new { pool, requested = target, note = "not there yet; check GET /pools" });
        });

        MonitoringEndpoints.Map(app);
    }

    private static Task<PoolLocation?> LocateAsync(IActorRef region, string pool, CancellationToken cancellation) =>
        PoolRegion.LocateAsync(region, pool, TimeSpan.FromSeconds(3), cancellation);
}
