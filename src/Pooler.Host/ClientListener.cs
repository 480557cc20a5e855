using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Pooler.Config;
using Pooler.Core.Clients;

namespace Pooler.Host;

/// <summary>
/// Accepts PostgreSQL clients on [general] host:port (and relayed clients on the cluster's relay
/// port) and hands each connection to its handler, which runs the client's session; the
/// connection closes when the session ends. Started after the actor system, stopped after
/// <see cref="SessionDrain"/>: it stops accepting as soon as shutdown begins, and closes whatever
/// is still connected once the sessions have had shutdown_timeout to finish.
/// </summary>
public sealed class ClientListener(
    PoolerConfig config,
    IServiceProvider provider,
    IHostApplicationLifetime lifetime,
    ILogger<ClientListener> logger) : IHostedService
{
    private const int Backlog = 4096;
    private readonly List<Socket> _listeners = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly HashSet<ClientConnection> _open = [];
    private readonly CancellationTokenSource _stopAccepting = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var clients = provider.GetRequiredService<ClientConnectionHandler>();
        Listen(config.General.Host, config.General.Port, clients);
        // Clients relayed from other nodes: only with a cluster secret to prove where they come from.
        if (config.Cluster.Secret is not null)
            Listen(config.Cluster.Host, config.Cluster.RelayPort, provider.GetRequiredService<RelayConnectionHandler>());
        lifetime.ApplicationStopping.Register(StopAccepting);
        return Task.CompletedTask;
    }

    private void Listen(string host, int port, ConnectionHandler handler)
    {
        var address = PortCheck.ResolveBindAddress(host);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.Equals(IPAddress.IPv6Any))
                socket.DualMode = true;
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(Backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        _listeners.Add(socket);
        // The host's start-up context (its logging scopes) is not passed on to the sessions.
        using (ExecutionContext.SuppressFlow())
            _acceptLoops.Add(Task.Run(() => AcceptLoopAsync(socket, handler)));
    }

    private async Task AcceptLoopAsync(Socket listener, ConnectionHandler handler)
    {
        while (!_stopAccepting.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopAccepting.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException ||
                                      _stopAccepting.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // Out of file descriptors, a connection reset before it was accepted: the next one may do.
                logger.LogWarning("accepting a client connection failed: {Error}", e.Message);
                continue;
            }
            _ = RunAsync(new ClientConnection(socket), handler);
        }
    }

    private async Task RunAsync(ClientConnection connection, ConnectionHandler handler)
    {
        lock (_open)
            _open.Add(connection);
        try
        {
            await handler.OnConnectedAsync(connection);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning("client {Client}: connection ended by an error: {Error}", connection.ConnectionId, e.Message);
        }
        finally
        {
            await connection.CloseAsync();
            lock (_open)
                _open.Remove(connection);
        }
    }

    private void StopAccepting()
    {
        _stopAccepting.Cancel();
        foreach (var listener in _listeners)
            listener.Dispose();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        StopAccepting();
        await Task.WhenAll(_acceptLoops);
        ClientConnection[] open;
        lock (_open)
            open = [.. _open];
        foreach (var connection in open)
            await connection.DisposeAsync();
    }
}
