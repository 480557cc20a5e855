namespace Pooler.Config;

/// <summary>
/// Every default of the configuration, in one place. docs/config.md lists the same values;
/// the timeouts follow PgCat's (and PgBouncer's where PgCat has none) so that a pgcat.toml
/// behaves as its author expects.
/// </summary>
public static class Defaults
{
    public static class General
    {
        public const string Host = "0.0.0.0";
        public const int Port = 6432;
        public const AuthType AuthType = Config.AuthType.ScramSha256;

        public static readonly TimeSpan ConnectTimeout = TimeSpan.FromMilliseconds(5_000);
        public static readonly TimeSpan IdleTimeout = TimeSpan.FromMilliseconds(600_000);
        public static readonly TimeSpan ServerLifetime = TimeSpan.FromMilliseconds(3_600_000);
        public static readonly TimeSpan IdleClientInTransactionTimeout = TimeSpan.Zero;
        public static readonly TimeSpan HealthcheckTimeout = TimeSpan.FromMilliseconds(1_000);
        public static readonly TimeSpan HealthcheckDelay = TimeSpan.FromMilliseconds(30_000);
        public static readonly TimeSpan BanTime = TimeSpan.FromSeconds(60);
        public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromMilliseconds(60_000);

        // PgBouncer's query_wait_timeout (120 s) and client_login_timeout (60 s).
        public static readonly TimeSpan QueryWaitTimeout = TimeSpan.FromMilliseconds(120_000);
        public static readonly TimeSpan ClientLoginTimeout = TimeSpan.FromMilliseconds(60_000);

        public const int MaxClientConnections = 10_000;
        public const string ServerResetQuery = "DISCARD ALL";
        public const bool LogClientConnections = false;
        public const bool LogClientDisconnections = false;

        // PgCat's keepalive defaults notice a dead peer within about 30 s; without them a
        // vanished server can hold a pool slot for hours.
        public static readonly TimeSpan TcpKeepalivesIdle = TimeSpan.FromSeconds(5);
        public const int TcpKeepalivesCount = 5;
        public static readonly TimeSpan TcpKeepalivesInterval = TimeSpan.FromSeconds(5);
        public static readonly TimeSpan TcpUserTimeout = TimeSpan.FromMilliseconds(10_000);

        public const bool ServerTls = false;
        public const bool VerifyServerCertificate = false;

        public const bool PreparedStatements = true;
        public const int PreparedStatementsCacheSize = 500;

        /// <summary>
        /// 256 MiB. Pooler forwards bytes in chunks and only holds a whole message for the few
        /// types it must read (Parse, Bind …), so the cap bounds that memory per client; it is
        /// far above any real Query/Parse/Bind (a large bytea parameter) and well below
        /// PostgreSQL's own 1 GB limit.
        /// </summary>
        public const int MaxMessageSize = 256 * 1024 * 1024;

        public const bool DnsCacheEnabled = false;
        public static readonly TimeSpan DnsMaxTtl = TimeSpan.FromSeconds(30);
    }

    public static class Pool
    {
        public const PoolMode PoolMode = Config.PoolMode.Transaction;
        public const DefaultRole DefaultRole = Config.DefaultRole.Any;
        public const bool QueryParserEnabled = false;
        public const bool QueryParserReadWriteSplitting = false;
        public const bool PrimaryReadsEnabled = false;
        public const long MaxReplicaLagBytes = 0;
        public const LoadBalancingMode LoadBalancingMode = Config.LoadBalancingMode.Random;
        public const ShardingFunction ShardingFunction = Config.ShardingFunction.PgBigintHash;
        public static readonly DefaultShard DefaultShard = new(DefaultShardKind.Index, 0);
    }

    public static class User
    {
        public const int MinPoolSize = 0;
        public static readonly TimeSpan StatementTimeout = TimeSpan.Zero;
    }

    public static class Cluster
    {
        public const string Host = "127.0.0.1";

        /// <summary>The port Akka.NET clusters conventionally use (Lighthouse, Petabridge samples).</summary>
        public const int Port = 4053;

        /// <summary>The client port plus one: easy to remember, rarely taken.</summary>
        public const int RelayPort = 6433;

        /// <summary>Clients relayed to this node from other nodes, at most (each is a socket pair across the hop).</summary>
        public const int MaxRelayedConnections = 10_000;

        public const string SystemName = "pooler";

        /// <summary>Short secrets are guessable; 16 characters is the least we accept.</summary>
        public const int MinimumSecretLength = 16;
    }

    public static class Http
    {
        /// <summary>Loopback: the dashboard names pools and users, so exposing it is a choice.</summary>
        public const string Host = "127.0.0.1";

        /// <summary>PgCat's prometheus_exporter_port.</summary>
        public const int Port = 9930;
    }
}
