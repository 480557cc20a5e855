using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Pooler.Core.Stats;
using AkkaCluster = Akka.Cluster.Cluster;

namespace Pooler.Host.Http;

/// <summary>
/// What an operator and Prometheus look at on each node's <c>[http]</c> port: <c>GET /metrics</c>
/// (this node), <c>GET /api/cluster</c> (the whole cluster as JSON), the dashboard on <c>GET /</c>
/// and <c>GET /dashboard</c> (polls /api/cluster), and <c>GET /health</c> (200 once this node is Up).
/// </summary>
internal static class MonitoringEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void Map(WebApplication app)
    {
        // Built at the first scrape: every series is labelled with the node's cluster address,
        // which exists once the actor system runs. PublicationOnly: a failed first try is not remembered.
        var exporter = new Lazy<MetricsExporter>(() =>
            new MetricsExporter(AkkaCluster.Get(app.Services.GetRequiredService<ActorSystem>())), LazyThreadSafetyMode.PublicationOnly);

        // Only this node's report (no round trip to the other members): Prometheus scrapes every node.
        app.MapGet("/metrics", async (IStatsSource stats, CancellationToken cancellation) =>
        {
            var snapshot = await stats.LocalAsync(cancellation);
            using var body = new MemoryStream();
            await exporter.Value.WriteAsync(snapshot, body, cancellation);
            return Results.Bytes(body.ToArray(), MetricsExporter.ContentType);
        });

        // ?connections=false leaves out every node's client and server lists, on the way between
        // nodes too: the dashboard polls every second and shows counts only.
        app.MapGet("/api/cluster", async (IStatsSource stats, bool? connections, HttpContext http, CancellationToken cancellation) =>
        {
            var snapshot = await stats.ClusterAsync(connections != false, cancellation);
            http.Response.Headers.CacheControl = "no-store";
            return Results.Json(snapshot, Json);
        });

        app.MapGet("/health", (ActorSystem system) =>
        {
            var status = AkkaCluster.Get(system).SelfMember.Status;
            return status == MemberStatus.Up
                ? Results.Text("ok")
                : Results.Text($"not up: {status}", statusCode: StatusCodes.Status503ServiceUnavailable);
        });

        app.MapGet("/", Dashboard.Serve);
        app.MapGet("/dashboard", Dashboard.Serve);
    }
}
