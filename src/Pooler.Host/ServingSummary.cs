using System.Text;
using Pooler.Config;

namespace Pooler.Host;

/// <summary>
/// What a node will serve, as the lines an operator reads at start-up and from <c>--check</c>.
/// Passwords never appear here: only user names and pool settings.
/// </summary>
public static class ServingSummary
{
    public static IEnumerable<string> Describe(PoolerConfig config, string configPath)
    {
        var general = config.General;
        var cluster = config.Cluster;
        yield return $"configuration {configPath}: {config.Pools.Count} pool(s)";
        yield return $"clients: listening on {general.Host}:{general.Port} (auth {general.AuthType.ToConfigName()})";
        yield return $"cluster: node {cluster.NodeName} at {cluster.SelfAddress}, seed nodes [{string.Join(", ", cluster.SeedNodes)}]";
        yield return general.AdminConsoleEnabled
            ? $"admin console: databases 'pgbouncer' and 'pooler' for user {general.AdminUsername}"
            : "admin console: disabled (set general.admin_username and general.admin_password)";
        foreach (var pool in config.Pools)
            yield return DescribePool(pool);
        foreach (var ignored in config.Ignored)
            yield return $"note: {ignored}";
    }

    private static string DescribePool(PoolConfig pool)
    {
        var line = new StringBuilder($"pool '{pool.Name}': {pool.PoolMode.ToConfigName()} mode; users");
        foreach (var user in pool.Users)
        {
            line.Append($" {user.Username} (pool_size {user.PoolSize}");
            if (user.MinPoolSize > 0)
                line.Append($", min_pool_size {user.MinPoolSize}");
            if (user.ServerUsername != user.Username)
                line.Append($", as server user {user.ServerUsername}");
            line.Append(')');
        }
        foreach (var shard in pool.Shards)
        {
            line.Append($"; shard {shard.Index}: database {shard.Database} on");
            foreach (var server in shard.Servers)
                line.Append($" {server}");
        }
        return line.ToString();
    }
}
