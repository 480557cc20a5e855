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
/// connection (accepted by <see cref="ClientListener"/>); the connection closes when the session ends.
/// </summary>
public sealed class ClientConnectionHandler(
    ActorSystem system,
    IServiceProvider provider,
    IHostApplicationLifetime lifetime) : ConnectionHandler
{
    private readonly Lazy<PoolerServices> _services = new(() =>
    {
        var services = provider.GetRequiredService<PoolerServices>();
        // SIGTERM/SIGINT: let running transactions finish, then close (see SessionDrain).
        lifetime.ApplicationStopping.Register(services.BeginShutdown);
        return services;
    });

    /// <summary>The node's shared session services, once the first client has connected.</summary>
    public PoolerServices? ServicesIfStarted => _services.IsValueCreated ? _services.Value : null;

    /// <summary>The node's shared session services (created on first use).</summary>
    public PoolerServices Services => _services.Value;

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        system.ActorOf(ClientSession.Props(connection, _services.Value, done), "client-" + connection.ConnectionId);
        await done.Task;
    }
}

/// <summary>
/// The relay listener's handler: a client that another node authenticated and relays here,
/// because this node owns its pool. It becomes an ordinary session once the relay handshake
/// proves (with the cluster secret) that a node sent it.
/// </summary>
public sealed class RelayConnectionHandler(ActorSystem system, ClientConnectionHandler clients) : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        system.ActorOf(ClientSession.Props(connection, clients.Services, done, relayed: true), "relayed-" + connection.ConnectionId);
        await done.Task;
    }
}
