using Akka.Actor;
using Pooler.Core.Stats;

namespace Pooler.Host.Admin;

/// <summary>
/// Every node's <c>/user/node-admin</c>: answers other nodes' requests for this node's report and
/// runs node commands (DISABLE, ENABLE, KILL's clients, RELOAD) sent cluster-wide; samples the
/// counters every second for the averages.
/// </summary>
public sealed class NodeAdmin : ReceiveActor, IWithTimers
{
    public const string Name = "node-admin";

    public NodeAdmin(Func<AdminBackend> backend, Func<NodeStats> stats)
    {
        ReceiveAsync<GetNodeSnapshot>(async request =>
        {
            var snapshot = await backend().LocalAsync(CancellationToken.None);
            Sender.Tell(new NodeReport(request.Connections ? snapshot : AdminBackend.WithoutConnections(snapshot)));
        });
        Receive<NodeCommand>(command => Sender.Tell(backend().RunHere(command)));
        Receive<Tick>(_ => stats().Sample(DateTime.UtcNow));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() => Timers.StartPeriodicTimer("sample", Tick.Instance, TimeSpan.FromSeconds(1));

    public static Props Props(Func<AdminBackend> backend, Func<NodeStats> stats) =>
        Akka.Actor.Props.Create(() => new NodeAdmin(backend, stats));

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }
}
