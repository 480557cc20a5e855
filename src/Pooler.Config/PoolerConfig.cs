namespace Pooler.Config;

/// <summary>The whole configuration, validated: what one node serves and how it joins the cluster.</summary>
public sealed record PoolerConfig
{
    /// <summary>The file name given to the loader, as used in error messages.</summary>
    public required string SourceFile { get; init; }

    public GeneralConfig General { get; init; } = new();

    /// <summary>In file order; at least one.</summary>
    public required IReadOnlyList<PoolConfig> Pools { get; init; }

    public required ClusterConfig Cluster { get; init; }

    public HttpConfig Http { get; init; } = new();

    /// <summary>Keys set in the file that Pooler accepts for PgCat compatibility but ignores.</summary>
    public IReadOnlyList<IgnoredSetting> Ignored { get; init; } = [];

    /// <summary>The pool clients reach with this database name, or null. Names are case-sensitive, as in PostgreSQL.</summary>
    public PoolConfig? FindPool(string name)
    {
        foreach (var pool in Pools)
        {
            if (pool.Name == name)
                return pool;
        }
        return null;
    }

    /// <summary>Every (pool, user) pair: one cluster-wide set of server connections each.</summary>
    public IEnumerable<(PoolConfig Pool, UserConfig User)> PoolUsers()
    {
        foreach (var pool in Pools)
        {
            foreach (var user in pool.Users)
                yield return (pool, user);
        }
    }
}
