using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Connections;
using Pooler.Config;
using Pooler.Core;
using Pooler.Core.Clients;
using Pooler.Core.Pools;

namespace Pooler.Host;

/// <summary>
/// The client listener's per-connection handler: one <see cref="ClientSession"/> actor per client
/// connection. Kestrel owns the socket and its pipes; the connection closes when the session ends.
/// </summary>
public sealed class ClientConnectionHandler(
    PoolerConfig config,
    ActorSystem system,
    IRequiredActor<PoolRegion> poolRegion,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggerFactory) : ConnectionHandler
{
    private readonly Lazy<PoolerServices> _services = new(() =>
    {
        var services = new PoolerServices(config, poolRegion.ActorRef, loggerFactory);
        // SIGTERM/SIGINT: let running transactions finish, then close (see SessionDrain).
        lifetime.ApplicationStopping.Register(services.BeginShutdown);
        return services;
    });

    /// <summary>The node's shared session services, once the first client has connected.</summary>
    public PoolerServices? ServicesIfStarted => _services.IsValueCreated ? _services.Value : null;

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        system.ActorOf(ClientSession.Props(connection, _services.Value, done), "client-" + connection.ConnectionId);
        await done.Task;
    }
}
