using Pooler.Config;

namespace Pooler.Core.Pools;

/// <summary>
/// One PostgreSQL server of a pool as every session on the pool's node sees it: its role, and
/// whether it is banned (a failed connect or health check leaves it out for ban_time, so traffic
/// goes to the others; it is tried again once the ban is over).
/// </summary>
public sealed class ServerHealth(int shard, int index, ServerAddress address)
{
    private long _bannedUntil; // UTC ticks; 0 when never banned

    public int Shard { get; } = shard;
    public int Index { get; } = index;
    public ServerAddress Address { get; } = address;
    public ServerRole Role => Address.Role;

    /// <summary>Why it was last banned.</summary>
    public string? BanReason { get; private set; }

    public bool IsBanned(DateTime now) => now.Ticks < Volatile.Read(ref _bannedUntil);

    /// <summary>When the current ban ends; null when the server is not banned.</summary>
    public DateTime? BannedUntil(DateTime now)
    {
        var until = Volatile.Read(ref _bannedUntil);
        return now.Ticks < until ? new DateTime(until, DateTimeKind.Utc) : null;
    }

    /// <summary>Bans the server until <paramref name="now"/> + <paramref name="banTime"/>; true when it was not banned before.</summary>
    public bool Ban(TimeSpan banTime, string reason, DateTime now)
    {
        var fresh = !IsBanned(now);
        BanReason = reason;
        Volatile.Write(ref _bannedUntil, (now + banTime).Ticks);
        return fresh;
    }

    public override string ToString() => $"{Address.Host}:{Address.Port} ({Address.Role.ToConfigName()}, shard {Shard})";
}

/// <summary>One server of the pool for one user: where a session takes a connection to it (<paramref name="Key"/>: ServerTarget.Key).</summary>
public sealed record RouteServer(ServerHealth Health, ServerDesk Desk, string Key)
{
    public int Shard => Health.Shard;
    public int Index => Health.Index;
    public ServerRole Role => Health.Role;
}

/// <summary>A user's servers, shard by shard: where its sessions' transactions can go.</summary>
public sealed class UserRoutes(IReadOnlyList<IReadOnlyList<RouteServer>> shards)
{
    public IReadOnlyList<IReadOnlyList<RouteServer>> Shards { get; } = shards;

    /// <summary>The server, when the pool has one shard with one server: no routing to do.</summary>
    public RouteServer? Only { get; } = shards.Count == 1 && shards[0].Count == 1 ? shards[0][0] : null;

    public RouteServer? Find(int shard, int index) =>
        shard >= 0 && shard < Shards.Count && index >= 0 && index < Shards[shard].Count ? Shards[shard][index] : null;
}

/// <summary>Which servers may take a transaction.</summary>
public enum RoleWanted
{
    /// <summary>The shard's primary only (writes, and whatever is routed there).</summary>
    Primary,

    /// <summary>A replica; the primary too with primary_reads_enabled, and when every replica is banned.</summary>
    Replica,

    /// <summary>Any server of the shard.</summary>
    Any,
}

/// <summary>Picks the server of a shard for a transaction: the role it needs, no banned server, then the load balancing mode.</summary>
public static class ServerChooser
{
    public static RouteServer? Choose(IReadOnlyList<RouteServer> shard, RoleWanted role, bool primaryReads,
        LoadBalancingMode mode, DateTime now, out string? problem)
    {
        problem = null;
        RouteServer? primary = null;
        foreach (var server in shard)
            if (server.Role == ServerRole.Primary)
                primary = server;
        if (role == RoleWanted.Primary)
        {
            if (primary is null)
                problem = "it has no primary server";
            else if (primary.Health.IsBanned(now))
                problem = $"its primary {primary.Health.Address.Host}:{primary.Health.Address.Port} is unavailable " +
                          $"({primary.Health.BanReason}); Pooler does not promote a replica";
            return problem is null ? primary : null;
        }
        Span<int> candidates = stackalloc int[shard.Count];
        var count = 0;
        for (var i = 0; i < shard.Count; i++)
        {
            var server = shard[i];
            if (server.Health.IsBanned(now))
                continue;
            if (role == RoleWanted.Replica && server.Role == ServerRole.Primary && !primaryReads)
                continue;
            candidates[count++] = i;
        }
        if (count == 0)
        {
            // Every replica is banned: reads go to the primary rather than fail.
            if (role == RoleWanted.Replica && primary is not null && !primary.Health.IsBanned(now))
                return primary;
            problem = "every one of its servers is unavailable (" +
                      string.Join("; ", shard.Select(s => $"{s.Health.Address.Host}:{s.Health.Address.Port}: {s.Health.BanReason}")) + ")";
            return null;
        }
        if (mode == LoadBalancingMode.LeastOutstandingConnections)
        {
            var best = candidates[0];
            var least = shard[best].Desk.Outstanding;
            for (var i = 1; i < count; i++)
            {
                var outstanding = shard[candidates[i]].Desk.Outstanding;
                if (outstanding < least || (outstanding == least && Random.Shared.Next(2) == 0))
                    (best, least) = (candidates[i], outstanding);
            }
            return shard[best];
        }
        return shard[candidates[Random.Shared.Next(count)]];
    }
}
