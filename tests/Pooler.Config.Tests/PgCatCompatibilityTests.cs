namespace Pooler.Config.Tests;

/// <summary>Existing PgCat configurations load, with PgCat's meaning.</summary>
public sealed class PgCatCompatibilityTests
{
    [Fact]
    public void The_PgCat_guide_example_loads_with_its_values()
    {
        var config = ConfigLoader.LoadFile(TestConfigs.Fixture("pgcat-guide.toml"));

        Assert.Equal("0.0.0.0", config.General.Host);
        Assert.Equal(6432, config.General.Port);
        Assert.Equal("pgcat", config.General.AdminUsername);
        Assert.Equal("admin-secret", config.General.AdminPassword);
        Assert.True(config.General.AdminConsoleEnabled);
        Assert.Equal(TimeSpan.FromHours(24), config.General.ServerLifetime);
        Assert.Equal(TimeSpan.FromHours(24), config.General.IdleTimeout);

        var pool = Assert.Single(config.Pools);
        Assert.Equal("postgresml", pool.Name);
        Assert.Equal(PoolMode.Transaction, pool.PoolMode);

        var user = Assert.Single(pool.Users);
        Assert.Equal("postgresml_user", user.Username);
        Assert.Equal("user-secret", user.Password);
        Assert.Equal(PasswordKind.Plain, user.PasswordKind);
        Assert.Equal(1, user.PoolSize);
        Assert.Equal(PoolMode.Transaction, user.PoolMode);
        Assert.Equal(TimeSpan.FromHours(24), user.ServerLifetime);

        var shard = Assert.Single(pool.Shards);
        Assert.Equal("postgresml", shard.Database);
        Assert.Equal(new ServerAddress("127.0.0.1", 5432, ServerRole.Primary), Assert.Single(shard.Servers));
        Assert.Equal(shard.Servers[0], shard.Primary);
        Assert.Empty(config.Ignored);
    }

    [Fact]
    public void PgCats_own_example_pgcat_toml_loads()
    {
        var config = ConfigLoader.LoadFile(TestConfigs.Fixture("pgcat.toml"));

        Assert.Equal(["sharded_db", "simple_db"], config.Pools.Select(p => p.Name));
        Assert.Equal("admin_user", config.General.AdminUsername);
        Assert.Equal(TimeSpan.FromMilliseconds(30000), config.General.IdleTimeout);

        var sharded = config.FindPool("sharded_db")!;
        Assert.Equal(TimeSpan.FromMilliseconds(40000), sharded.IdleTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(3000), sharded.ConnectTimeout);
        Assert.Equal(LoadBalancingMode.Random, sharded.LoadBalancingMode);
        Assert.True(sharded.QueryParserEnabled);
        Assert.Equal(3, sharded.Shards.Count);
        Assert.Equal(["shard0", "shard1", "shard2"], sharded.Shards.Select(s => s.Database));
        Assert.Equal([0, 1, 2], sharded.Shards.Select(s => s.Index));
        Assert.Equal(new ServerAddress("localhost", 5432, ServerRole.Replica), Assert.Single(sharded.Shards[1].Replicas));
        Assert.Equal([9, 21], sharded.Users.Select(u => u.PoolSize));
        Assert.Equal(TimeSpan.FromMilliseconds(15000), sharded.FindUser("other_user")!.StatementTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(40000), sharded.Users[0].IdleTimeout);

        var simple = config.FindPool("simple_db")!;
        Assert.Equal(PoolMode.Session, simple.PoolMode);
        Assert.Equal(DefaultRole.Primary, simple.DefaultRole);
        Assert.Equal(TimeSpan.FromMilliseconds(30000), simple.IdleTimeout);

        // PgCat serves its exporter on general.host at prometheus_exporter_port.
        Assert.Equal(new HttpConfig { Host = "0.0.0.0", Port = 9930 }, config.Http);
    }

    [Fact]
    public void PgCat_keys_Pooler_does_not_use_are_accepted_and_reported()
    {
        var config = ConfigLoader.LoadFile(TestConfigs.Fixture("pgcat.toml"));

        var ignored = config.Ignored.Select(i => i.Key).ToList();
        Assert.Equal(["general.autoreload", "general.worker_threads"], ignored);
        var autoreload = config.Ignored[0];
        Assert.EndsWith("pgcat.toml", autoreload.File, StringComparison.Ordinal);
        Assert.Equal(51, autoreload.Line);
        Assert.Contains("read once at start", autoreload.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Newer_PgCat_keys_and_plugins_load()
    {
        var config = TestConfigs.Load("""
            [general]
            admin_username = "admin"
            admin_password = "admin"
            server_lifetime = 86400000
            dns_cache_enabled = true
            dns_max_ttl = 60
            tcp_user_timeout = 20000
            server_tls = true
            verify_server_certificate = false
            validate_config = true
            server_round_robin = false

            [plugins.prewarmer]
            enabled = false
            queries = ["SELECT pg_prewarm('pgbench_accounts')"]

            [plugins.intercept]
            enabled = true

            [plugins.intercept.queries.0]
            query = "select current_database() as a"
            schema = [["a", "text"]]
            result = [["${DATABASE}"]]

            [pools.pgml]
            query_parser_enabled = true
            query_parser_read_write_splitting = true
            query_parser_max_length = 100
            load_balancing_mode = "loc"
            default_shard = "shard_0"
            prepared_statements_cache_size = 100
            cleanup_server_connections = false

            [pools.pgml.users.0]
            username = "simple_user"
            password = "simple_user"
            pool_size = 10
            min_pool_size = 1
            pool_mode = "session"
            server_lifetime = 60000
            server_username = "pg_user"
            server_password = "pg_password"

            [pools.pgml.shards.0]
            servers = [["127.0.0.1", 5432, "primary"]]
            mirrors = [["10.0.0.9", 5432, 0]]
            database = "postgres"
            """);

        Assert.True(config.General.DnsCacheEnabled);
        Assert.Equal(TimeSpan.FromSeconds(60), config.General.DnsMaxTtl);
        Assert.True(config.General.ServerTls);
        var pool = Assert.Single(config.Pools);
        Assert.Equal(LoadBalancingMode.LeastOutstandingConnections, pool.LoadBalancingMode);
        Assert.Equal(100, pool.PreparedStatementsCacheSize);
        var user = Assert.Single(pool.Users);
        Assert.Equal(PoolMode.Session, user.PoolMode);
        Assert.Equal(1, user.MinPoolSize);
        Assert.Equal(TimeSpan.FromMinutes(1), user.ServerLifetime);
        Assert.Equal("pg_user", user.ServerUsername);
        Assert.Equal("pg_password", user.ServerPassword);
        Assert.Equal(new MirrorAddress("10.0.0.9", 5432, 0), Assert.Single(pool.Shards[0].Mirrors));
        Assert.Equal(
            ["general.validate_config", "general.server_round_robin", "plugins", "pools.pgml.query_parser_max_length",
             "pools.pgml.cleanup_server_connections"],
            config.Ignored.Select(i => i.Key));
    }

    [Fact]
    public void A_pool_named_only_by_its_subtables_loads()
    {
        // PgCat's pgcat.minimal.toml has no [pools.pgml] header, only its users and shards.
        var config = TestConfigs.Load("""
            [general]
            host = "127.0.0.1"

            [pools.pgml.users.0]
            username = "postgres"
            password = "postgres"
            pool_size = 10
            pool_mode = "transaction"

            [pools.pgml.shards.0]
            servers = [["127.0.0.1", 5432, "primary"]]
            database = "postgres"
            """);

        Assert.Equal("pgml", Assert.Single(config.Pools).Name);
    }

    [Fact]
    public void PgCats_capitalised_enum_spellings_are_accepted()
    {
        var config = TestConfigs.Load(TestConfigs.Minimal.Replace("\"transaction\"", "\"Transaction\"", StringComparison.Ordinal));

        Assert.Equal(PoolMode.Transaction, config.Pools[0].PoolMode);
    }
}
