using Akka.Actor;
using Microsoft.Extensions.Logging;
using Pooler.Config;
using Pooler.Core.Clients;

namespace Pooler.Core;

/// <summary>What every client session on a node shares: the configuration, the pool region, the cancel keys.</summary>
public sealed class PoolerServices(PoolerConfig config, IActorRef poolRegion, ILoggerFactory loggerFactory)
{
    private int _clients;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _stopNow = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PoolerConfig Config { get; } = config;

    /// <summary>The shard region of <c>PoolSupervisor</c> entities (entity id = pool name).</summary>
    public IActorRef PoolRegion { get; } = poolRegion;

    public ILoggerFactory LoggerFactory { get; } = loggerFactory;

    public CancelRegistry CancelKeys { get; } = new();

    public int ClientCount => Volatile.Read(ref _clients);

    /// <summary>Counts a new client against max_client_conn; false when the limit is reached.</summary>
    public bool TryAdmitClient()
    {
        var limit = Config.General.MaxClientConnections;
        while (true)
        {
            var current = Volatile.Read(ref _clients);
            if (limit > 0 && current >= limit)
                return false;
            if (Interlocked.CompareExchange(ref _clients, current + 1, current) == current)
                return true;
        }
    }

    public void ReleaseClient()
    {
        if (Interlocked.Decrement(ref _clients) == 0 && _stopping.IsCancellationRequested)
            _drained.TrySetResult();
    }

    /// <summary>Completes when, after <see cref="BeginShutdown"/>, the last client has gone.</summary>
    public Task Drained => _drained.Task;

    /// <summary>Cancelled when the node starts shutting down: sessions finish their transaction, then close.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Cancelled when shutdown_timeout has passed: every session closes at once.</summary>
    public CancellationToken StopNow => _stopNow.Token;

    /// <summary>Begins a graceful shutdown; after shutdown_timeout the remaining sessions are cut.</summary>
    public void BeginShutdown()
    {
        if (_stopping.IsCancellationRequested)
            return;
        _stopping.Cancel();
        if (ClientCount == 0)
            _drained.TrySetResult();
        _stopNow.CancelAfter(Config.General.ShutdownTimeout > TimeSpan.Zero ? Config.General.ShutdownTimeout : TimeSpan.Zero);
    }
}
