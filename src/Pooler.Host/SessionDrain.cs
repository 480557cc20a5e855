using Pooler.Config;

namespace Pooler.Host;

/// <summary>
/// Holds the host's shutdown until every client session has finished its transaction and left
/// (or shutdown_timeout has passed). Registered after the actor system, it is stopped before it,
/// so the pools stay alive while sessions drain.
/// </summary>
public sealed class SessionDrain(ClientConnectionHandler handler, PoolerConfig config, ILogger<SessionDrain> logger)
    : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (handler.ServicesIfStarted is not { } services)
            return;
        services.BeginShutdown();
        if (services.ClientCount > 0 || services.RelayedCount > 0)
            logger.LogInformation("shutting down: waiting up to shutdown_timeout ({Timeout} ms) for {Clients} client(s) " +
                "and {Relayed} client(s) relayed from other nodes to finish",
                config.General.ShutdownTimeout.TotalMilliseconds, services.ClientCount, services.RelayedCount);
        // Sessions still open when shutdown_timeout cuts them are counted in the log: each was in a
        // transaction (or, relayed, waiting for its entry node to give the relay up) all that time.
        using var cut = services.StopNow.Register(() =>
        {
            if (services.ClientCount > 0 || services.RelayedCount > 0)
                logger.LogWarning("shutting down: shutdown_timeout reached; closing {Clients} client(s) and {Relayed} " +
                    "relayed client(s) still connected", services.ClientCount, services.RelayedCount);
        });
        try
        {
            await services.Drained.WaitAsync(config.General.ShutdownTimeout + TimeSpan.FromSeconds(2), cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            logger.LogWarning("shutting down: {Clients} client(s) and {Relayed} relayed client(s) still connected " +
                "2 s after shutdown_timeout cut them; stopping without them", services.ClientCount, services.RelayedCount);
        }
    }
}
