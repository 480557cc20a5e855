using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Akka.Actor;
using Microsoft.Extensions.Logging.Abstractions;
using Pooler.Core.Clients;
using Pooler.Core.Cluster;
using Pooler.Core.Tests.Admin;
using Xunit;

namespace Pooler.Core.Tests.Clients;

/// <summary>
/// A client session is gone from memory once its client has gone: a node that serves clients that
/// connect per request must not grow with every connection it ever had.
/// </summary>
public sealed class SessionLifetimeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_session_whose_client_hung_up_is_not_kept_alive_by_the_node()
    {
        using var system = ActorSystem.Create("sessions", "akka.loglevel = OFF\nakka.stdout-loglevel = OFF");
        var config = new FakeAdminBackend().Config;
        var services = new PoolerServices(config, ActorRefs.Nobody, new ClusterNode(config, () => new Address("akka", "sessions")),
            ActorRefs.Nobody, NullLoggerFactory.Instance);

        var session = await StartAndHangUpAsync(system, services);

        var deadline = DateTime.UtcNow + Limit;
        while (session.IsAlive && DateTime.UtcNow < deadline)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            await Task.Delay(10); // the actor's stop runs on Akka's threads
        }
        Assert.False(session.IsAlive, "the ended session is still reachable from the node");
        Assert.Empty(services.Sessions);
        GC.KeepAlive(services); // the node (its shutdown tokens) lives on
    }

    /// <summary>A client connects and hangs up before its startup message; returns the session it had, once that has ended.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> StartAndHangUpAsync(ActorSystem system, PoolerServices services)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        var accepted = await listener.AcceptSocketAsync();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        system.ActorOf(ClientSession.Props(new ClientConnection(accepted), services, done));
        var session = await TrackedAsync(services);
        client.Close();
        await done.Task.WaitAsync(Limit);
        return session;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> TrackedAsync(PoolerServices services)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (services.Sessions.Count == 0 && DateTime.UtcNow < deadline)
            await Task.Delay(5);
        return new WeakReference(services.Sessions.Single());
    }
}
