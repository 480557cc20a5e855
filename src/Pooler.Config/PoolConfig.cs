namespace Pooler.Config;

/// <summary>
/// <c>[pools.&lt;name&gt;]</c>: one pool; clients reach it by sending its name as the database.
/// Timeouts here are already resolved (the pool's own value, else <c>[general]</c>'s).
/// </summary>
public sealed record PoolConfig
{
    public required string Name { get; init; }
    public PoolMode PoolMode { get; init; } = Defaults.Pool.PoolMode;
    public DefaultRole DefaultRole { get; init; } = Defaults.Pool.DefaultRole;
    public bool QueryParserEnabled { get; init; } = Defaults.Pool.QueryParserEnabled;
    public bool QueryParserReadWriteSplitting { get; init; } = Defaults.Pool.QueryParserReadWriteSplitting;
    public bool PrimaryReadsEnabled { get; init; } = Defaults.Pool.PrimaryReadsEnabled;

    /// <summary>A replica further behind its primary than this many bytes of WAL is banned (0: never).</summary>
    public long MaxReplicaLagBytes { get; init; } = Defaults.Pool.MaxReplicaLagBytes;
    public LoadBalancingMode LoadBalancingMode { get; init; } = Defaults.Pool.LoadBalancingMode;
    public ShardingFunction ShardingFunction { get; init; } = Defaults.Pool.ShardingFunction;

    /// <summary>"table.column" the query parser would read a sharding key from; null when unset.</summary>
    public string? AutomaticShardingKey { get; init; }
    public DefaultShard DefaultShard { get; init; } = Defaults.Pool.DefaultShard;

    public TimeSpan ConnectTimeout { get; init; } = Defaults.General.ConnectTimeout;
    public TimeSpan IdleTimeout { get; init; } = Defaults.General.IdleTimeout;
    public TimeSpan ServerLifetime { get; init; } = Defaults.General.ServerLifetime;

    /// <summary>Zero when prepared statement tracking is off for this pool.</summary>
    public int PreparedStatementsCacheSize { get; init; } = Defaults.General.PreparedStatementsCacheSize;

    /// <summary>In file order; at least one.</summary>
    public required IReadOnlyList<UserConfig> Users { get; init; }

    /// <summary>Indexed by shard number; at least one.</summary>
    public required IReadOnlyList<ShardConfig> Shards { get; init; }

    /// <summary>The user a client named in its startup message, or null.</summary>
    public UserConfig? FindUser(string username)
    {
        foreach (var user in Users)
        {
            if (user.Username == username)
                return user;
        }
        return null;
    }
}

/// <summary>Where a query without a sharding key goes: a fixed shard, or one picked at random.</summary>
public readonly record struct DefaultShard(DefaultShardKind Kind, int Index)
{
    public override string ToString() => Kind switch
    {
        DefaultShardKind.Random => "random",
        DefaultShardKind.RandomHealthy => "random_healthy",
        _ => $"shard_{Index}",
    };
}
