using System.Globalization;
using Pooler.Config;
using Pooler.Core.Stats;
using Pooler.Protocol;

namespace Pooler.Core.Admin;

// SHOW DATABASES, USERS, CONFIG, LISTS and VERSION: the configuration, with this node's counts.
internal static partial class AdminTables
{
    private const string Hidden = "********";

    private static readonly FieldDescription[] DatabaseColumns =
    [
        Text("name"), Text("host"), Int4("port"), Text("database"), Text("force_user"), Int4("pool_size"),
        Int4("min_pool_size"), Int4("reserve_pool"), Text("pool_mode"), Int4("max_connections"),
        Int4("current_connections"), Int4("paused"), Int4("disabled"),
    ];

    private static readonly FieldDescription[] UserColumns = [Text("name"), Text("pool_mode")];

    private static readonly FieldDescription[] ConfigColumns = [Text("key"), Text("value"), Text("default"), Text("changeable")];

    private static readonly FieldDescription[] ListColumns = [Text("list"), Int4("items")];

    private static readonly FieldDescription[] VersionColumns = [Text("version")];

    /// <summary>
    /// One row per pool. A pool's users each have their own server connections, so its sizes are
    /// the sums over its users; host and port are shard 0's primary (else its first server).
    /// </summary>
    public static List<object?[]> Databases(PoolerConfig config, NodeSnapshot node)
    {
        var rows = new List<object?[]>(config.Pools.Count);
        foreach (var pool in config.Pools)
        {
            var shard = pool.Shards[0];
            var server = shard.Primary ?? shard.Servers[0];
            var here = node.Pools.Where(p => p.Database == pool.Name).ToList();
            rows.Add([
                pool.Name, server.Host, server.Port, shard.Database,
                null, // force_user: each user logs in as its own server_username
                pool.Users.Sum(u => u.PoolSize), pool.Users.Sum(u => u.MinPoolSize), here.Sum(p => p.ReservePool),
                pool.PoolMode.ToConfigName(),
                0, // max_connections: no per-database cap beyond the users' pool sizes
                here.Sum(p => p.ServersActive + p.ServersIdle + p.ServersUsed + p.ServersLogin),
                here.Any(p => p.Paused) ? 1 : 0, here.Any(p => p.Disabled) ? 1 : 0,
            ]);
        }
        return rows;
    }

    /// <summary>
    /// One row per user name. A user in pools of different modes has no single mode: NULL, which
    /// is also what PgBouncer shows for a user that forces none.
    /// </summary>
    public static List<object?[]> Users(PoolerConfig config)
    {
        var modes = new Dictionary<string, string?>(StringComparer.Ordinal);
        var names = new List<string>();
        foreach (var (_, user) in config.PoolUsers())
        {
            string mode = user.PoolMode.ToConfigName();
            if (modes.TryAdd(user.Username, mode))
                names.Add(user.Username);
            else if (modes[user.Username] != mode)
                modes[user.Username] = null;
        }
        return names.Select(name => new object?[] { name, modes[name] }).ToList();
    }

    /// <summary>PgBouncer's SHOW LISTS; Pooler keeps no free lists or DNS queue, so those are 0.</summary>
    public static List<object?[]> Lists(PoolerConfig config, NodeSnapshot node) =>
    [
        ["databases", config.Pools.Count],
        ["users", config.PoolUsers().Select(pu => pu.User.Username).Distinct().Count()],
        ["pools", node.Pools.Count],
        ["free_clients", 0],
        ["used_clients", node.ClientCount],
        ["login_clients", node.Clients.Count(c => c.State == "login")],
        ["free_servers", 0],
        ["used_servers", node.Servers.Count],
        ["dns_names", 0],
        ["dns_zones", 0],
        ["dns_queries", 0],
        ["dns_pending", 0],
    ];

    public static List<object?[]> Version(string version) => [[$"Pooler {version}"]];

    /// <summary>
    /// The [general] settings as the TOML file spells them: durations in the key's unit (ms or s),
    /// booleans as true/false, unset as empty. Passwords never leave the process.
    /// </summary>
    public static List<object?[]> Config(GeneralConfig g)
    {
        var d = new GeneralConfig(); // nothing set: Defaults.General's values
        return
        [
            // The listener is bound at start; a reload cannot move it.
            Setting("host", g.Host, d.Host, changeable: false),
            Setting("port", g.Port, d.Port, changeable: false),
            Setting("admin_username", g.AdminUsername, d.AdminUsername),
            Setting("admin_password", g.AdminPassword is null ? null : Hidden, null),
            Setting("admin_auth_type", g.AdminAuthType.ToConfigName(), g.AuthType.ToConfigName()),
            Setting("auth_type", g.AuthType.ToConfigName(), d.AuthType.ToConfigName()),
            Setting("connect_timeout", Ms(g.ConnectTimeout), Ms(d.ConnectTimeout)),
            Setting("idle_timeout", Ms(g.IdleTimeout), Ms(d.IdleTimeout)),
            Setting("server_lifetime", Ms(g.ServerLifetime), Ms(d.ServerLifetime)),
            Setting("idle_client_in_transaction_timeout", Ms(g.IdleClientInTransactionTimeout), Ms(d.IdleClientInTransactionTimeout)),
            Setting("healthcheck_timeout", Ms(g.HealthcheckTimeout), Ms(d.HealthcheckTimeout)),
            Setting("healthcheck_delay", Ms(g.HealthcheckDelay), Ms(d.HealthcheckDelay)),
            Setting("ban_time", S(g.BanTime), S(d.BanTime)),
            Setting("shutdown_timeout", Ms(g.ShutdownTimeout), Ms(d.ShutdownTimeout)),
            Setting("query_wait_timeout", Ms(g.QueryWaitTimeout), Ms(d.QueryWaitTimeout)),
            Setting("client_login_timeout", Ms(g.ClientLoginTimeout), Ms(d.ClientLoginTimeout)),
            Setting("max_client_conn", g.MaxClientConnections, d.MaxClientConnections),
            Setting("server_reset_query", g.ServerResetQuery, d.ServerResetQuery),
            Setting("log_client_connections", g.LogClientConnections, d.LogClientConnections),
            Setting("log_client_disconnections", g.LogClientDisconnections, d.LogClientDisconnections),
            Setting("tcp_keepalives_idle", S(g.TcpKeepalivesIdle), S(d.TcpKeepalivesIdle)),
            Setting("tcp_keepalives_count", g.TcpKeepalivesCount, d.TcpKeepalivesCount),
            Setting("tcp_keepalives_interval", S(g.TcpKeepalivesInterval), S(d.TcpKeepalivesInterval)),
            Setting("tcp_user_timeout", Ms(g.TcpUserTimeout), Ms(d.TcpUserTimeout)),
            Setting("tls_certificate", g.TlsCertificate, d.TlsCertificate),
            Setting("tls_private_key", g.TlsPrivateKey, d.TlsPrivateKey),
            Setting("server_tls", g.ServerTls, d.ServerTls),
            Setting("verify_server_certificate", g.VerifyServerCertificate, d.VerifyServerCertificate),
            Setting("prepared_statements", g.PreparedStatements, d.PreparedStatements),
            Setting("prepared_statements_cache_size", g.PreparedStatementsCacheSize, d.PreparedStatementsCacheSize),
            Setting("max_message_size", g.MaxMessageSize, d.MaxMessageSize),
            Setting("dns_cache_enabled", g.DnsCacheEnabled, d.DnsCacheEnabled),
            Setting("dns_max_ttl", S(g.DnsMaxTtl), S(d.DnsMaxTtl)),
        ];
    }

    private static object?[] Setting(string key, object? value, object? defaultValue, bool changeable = true) =>
        [key, ConfigText(value), ConfigText(defaultValue), YesNo(changeable)];

    private static string ConfigText(object? value) => value switch
    {
        null => "",
        bool b => b ? "true" : "false",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private static long Ms(TimeSpan value) => (long)value.TotalMilliseconds;

    private static long S(TimeSpan value) => (long)value.TotalSeconds;
}
