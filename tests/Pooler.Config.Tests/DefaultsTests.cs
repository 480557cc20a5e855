namespace Pooler.Config.Tests;

/// <summary>A minimal file gets every documented default.</summary>
public sealed class DefaultsTests
{
    [Fact]
    public void A_seed_style_minimal_config_loads_with_every_default_filled()
    {
        var config = TestConfigs.Load(TestConfigs.Minimal);

        Assert.Equal(TestConfigs.FileName, config.SourceFile);
        var general = config.General;
        Assert.Equal("0.0.0.0", general.Host);
        Assert.Equal(6432, general.Port);
        Assert.Null(general.AdminUsername);
        Assert.False(general.AdminConsoleEnabled);
        Assert.Equal(AuthType.ScramSha256, general.AuthType);
        Assert.Equal(AuthType.ScramSha256, general.AdminAuthType);
        Assert.Equal(TimeSpan.FromSeconds(5), general.ConnectTimeout);
        Assert.Equal(TimeSpan.FromMinutes(10), general.IdleTimeout);
        Assert.Equal(TimeSpan.FromHours(1), general.ServerLifetime);
        Assert.Equal(TimeSpan.Zero, general.IdleClientInTransactionTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), general.HealthcheckTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), general.HealthcheckDelay);
        Assert.Equal(TimeSpan.FromSeconds(60), general.BanTime);
        Assert.Equal(TimeSpan.FromSeconds(60), general.ShutdownTimeout);
        Assert.Equal(TimeSpan.FromSeconds(120), general.QueryWaitTimeout);
        Assert.Equal(TimeSpan.FromSeconds(60), general.ClientLoginTimeout);
        Assert.Equal(10_000, general.MaxClientConnections);
        Assert.Equal("DISCARD ALL", general.ServerResetQuery);
        Assert.False(general.LogClientConnections);
        Assert.False(general.LogClientDisconnections);
        Assert.Equal(TimeSpan.FromSeconds(5), general.TcpKeepalivesIdle);
        Assert.Equal(5, general.TcpKeepalivesCount);
        Assert.Equal(TimeSpan.FromSeconds(5), general.TcpKeepalivesInterval);
        Assert.False(general.ClientTlsEnabled);
        Assert.True(general.PreparedStatements);
        Assert.Equal(500, general.PreparedStatementsCacheSize);
        Assert.Equal(256 * 1024 * 1024, general.MaxMessageSize);
        Assert.Equal(new GeneralConfig(), general);

        var pool = Assert.Single(config.Pools);
        Assert.Equal("app", pool.Name);
        Assert.Equal(PoolMode.Transaction, pool.PoolMode);
        Assert.Equal(DefaultRole.Any, pool.DefaultRole);
        Assert.False(pool.QueryParserEnabled);
        Assert.Equal(LoadBalancingMode.Random, pool.LoadBalancingMode);
        Assert.Equal(ShardingFunction.PgBigintHash, pool.ShardingFunction);
        Assert.Equal(new DefaultShard(DefaultShardKind.Index, 0), pool.DefaultShard);
        Assert.Null(pool.AutomaticShardingKey);
        Assert.Equal(general.ConnectTimeout, pool.ConnectTimeout);
        Assert.Equal(500, pool.PreparedStatementsCacheSize);

        var user = Assert.Single(pool.Users);
        Assert.Equal(1, user.PoolSize);
        Assert.Equal(0, user.MinPoolSize);
        Assert.Equal(TimeSpan.Zero, user.StatementTimeout);
        Assert.Equal("app", user.ServerUsername);
        Assert.Equal("secret", user.ServerPassword);
        Assert.Equal(AuthType.ScramSha256, user.AuthType);
        Assert.Equal(PoolMode.Transaction, user.PoolMode);
        Assert.Equal(general.IdleTimeout, user.IdleTimeout);
        Assert.Empty(pool.Shards[0].Mirrors);

        var cluster = config.Cluster;
        Assert.Equal("127.0.0.1", cluster.Host);
        Assert.Equal(4053, cluster.Port);
        Assert.Equal("127.0.0.1", cluster.PublicHostname);
        Assert.Equal("127.0.0.1:4053", cluster.NodeName);
        Assert.Equal(["akka.tcp://pooler@127.0.0.1:4053"], cluster.SeedNodes);
        Assert.True(cluster.IsSingleNode);
        Assert.Empty(cluster.Roles);
        Assert.Equal(6433, cluster.RelayPort);
        Assert.Null(cluster.Secret);
        Assert.Equal("pooler", cluster.SystemName);

        Assert.Equal("127.0.0.1", config.Http.Host);
        Assert.Equal(9930, config.Http.Port);
        Assert.True(config.Http.Enabled);
        Assert.Empty(config.Ignored);
    }

    [Fact]
    public void Pools_and_users_inherit_timeouts_from_general_and_may_override_them()
    {
        var config = TestConfigs.Load("""
            [general]
            connect_timeout = 1000
            idle_timeout = 2000
            server_lifetime = 3000

            [pools.app]
            idle_timeout = 20000

            [pools.app.users.0]
            username = "a"
            password = "secret"
            pool_size = 1
            server_lifetime = 30000

            [pools.app.shards.0]
            servers = [["db", 5432, "primary"]]
            database = "app"
            """);

        var pool = config.Pools[0];
        Assert.Equal(TimeSpan.FromMilliseconds(1000), pool.ConnectTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(20000), pool.IdleTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(3000), pool.ServerLifetime);
        var user = pool.Users[0];
        Assert.Equal(TimeSpan.FromMilliseconds(1000), user.ConnectTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(20000), user.IdleTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(30000), user.ServerLifetime);
    }

    [Fact]
    public void Turning_prepared_statements_off_in_general_sets_the_pools_cache_to_zero()
    {
        var config = TestConfigs.Load("[general]\nprepared_statements = false\n" + TestConfigs.Minimal);

        Assert.Equal(0, config.Pools[0].PreparedStatementsCacheSize);
    }

    [Fact]
    public void Pool_helpers_find_pools_and_users_by_exact_name()
    {
        var config = TestConfigs.Load(TestConfigs.Minimal);

        Assert.Same(config.Pools[0], config.FindPool("app"));
        Assert.Null(config.FindPool("APP"));
        Assert.Same(config.Pools[0].Users[0], config.Pools[0].FindUser("app"));
        Assert.Equal([("app", "app")], config.PoolUsers().Select(pu => (pu.Pool.Name, pu.User.Username)));
    }

    [Fact]
    public void A_users_string_form_does_not_show_its_password()
    {
        var user = TestConfigs.Load(TestConfigs.Minimal).Pools[0].Users[0];

        Assert.DoesNotContain("secret", user.ToString(), StringComparison.Ordinal);
    }
}
