using Akka.Actor;
using Microsoft.Extensions.Logging;
using Pooler.Config;
using Pooler.Core.Clients;

namespace Pooler.Core;

/// <summary>What every client session on a node shares: the configuration, the pool region, the cancel keys.</summary>
public sealed class PoolerServices(PoolerConfig config, IActorRef poolRegion, ILoggerFactory loggerFactory)
{
    private int _clients;

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

    public void ReleaseClient() => Interlocked.Decrement(ref _clients);
}
