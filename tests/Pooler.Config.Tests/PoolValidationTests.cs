namespace Pooler.Config.Tests;

/// <summary>Pools, users and shards that cannot work are refused at the line that says so.</summary>
public sealed class PoolValidationTests
{
    private static string Replace(string from, string to) => TestConfigs.Minimal.Replace(from, to, StringComparison.Ordinal);

    [Fact]
    public void Max_replica_lag_bytes_is_read_and_defaults_to_off()
    {
        Assert.Equal(0, TestConfigs.Load(TestConfigs.Minimal).Pools[0].MaxReplicaLagBytes);
        var config = TestConfigs.Load(Replace("pool_mode = \"transaction\"", "pool_mode = \"transaction\"\nmax_replica_lag_bytes = 65536"));
        Assert.Equal(65536, config.Pools[0].MaxReplicaLagBytes);
        var error = TestConfigs.Fails(Replace("pool_mode = \"transaction\"", "pool_mode = \"transaction\"\nmax_replica_lag_bytes = -1"));
        Assert.Equal("pools.app.max_replica_lag_bytes", error.Key);
    }

    [Fact]
    public void A_negative_pool_size_is_an_error()
    {
        var error = TestConfigs.Fails(Replace("pool_size = 1", "pool_size = -3"));

        Assert.Equal("pooler.toml:7: pools.app.users.0.pool_size: must be a positive integer, got -3", error.Message);
    }

    [Fact]
    public void A_zero_pool_size_is_an_error()
    {
        var error = TestConfigs.Fails(Replace("pool_size = 1", "pool_size = 0"));

        Assert.Equal("pools.app.users.0.pool_size", error.Key);
        Assert.Equal(7, error.Line);
    }

    [Fact]
    public void A_missing_pool_size_names_the_users_table_line()
    {
        var error = TestConfigs.Fails(Replace("pool_size = 1", ""));

        Assert.Equal(4, error.Line);
        Assert.Equal("pools.app.users.0.pool_size", error.Key);
        Assert.Contains("missing required key; set pool_size = ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_username_names_the_users_table_line()
    {
        var error = TestConfigs.Fails(Replace("username = \"app\"", ""));

        Assert.Equal("pooler.toml:4: pools.app.users.0.username: missing required key; set username = \"<the role clients log in as>\"",
            error.Message);
    }

    [Fact]
    public void A_min_pool_size_larger_than_pool_size_is_an_error()
    {
        var error = TestConfigs.Fails(Replace("pool_size = 1", "pool_size = 1\nmin_pool_size = 2"));

        Assert.Equal("pooler.toml:8: pools.app.users.0.min_pool_size: must not be larger than pool_size (1), got 2", error.Message);
    }

    [Fact]
    public void A_file_without_pools_is_an_error()
    {
        var error = TestConfigs.Fails("[general]\nport = 6432\n");

        Assert.Equal(1, error.Line);
        Assert.Equal("pools", error.Key);
        Assert.Contains("no pools; add a [pools.<name>] section", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pool_without_users_is_an_error_at_the_pool()
    {
        var error = TestConfigs.Fails("""
            [pools.app]
            pool_mode = "session"

            [pools.app.shards.0]
            servers = [["127.0.0.1", 5432, "primary"]]
            database = "app"
            """);

        Assert.Equal(1, error.Line);
        Assert.Equal("pools.app.users", error.Key);
        Assert.Contains("add a [pools.app.users.0] table", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pool_without_shards_is_an_error_at_the_pool()
    {
        var error = TestConfigs.Fails("""
            [pools.app]
            pool_mode = "session"

            [pools.app.users.0]
            username = "app"
            password = "secret"
            pool_size = 1
            """);

        Assert.Equal("pooler.toml:1: pools.app.shards: missing required key; add a [pools.app.shards.0] table with servers and database",
            error.Message);
    }

    [Fact]
    public void Duplicate_usernames_in_a_pool_are_an_error_at_the_second()
    {
        var error = TestConfigs.FailsWith("""
            [pools.app.users.1]
            username = "app"
            password = "other"
            pool_size = 2
            """);

        Assert.Equal(TestConfigs.FirstExtraLine + 1, error.Line);
        Assert.Equal("pools.app.users.1.username", error.Key);
        Assert.Contains("already defined in [pools.app.users.0]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shard_numbers_with_a_gap_are_an_error()
    {
        var error = TestConfigs.FailsWith("""
            [pools.app.shards.2]
            servers = [["127.0.0.2", 5432, "primary"]]
            database = "app2"
            """);

        Assert.Equal(TestConfigs.FirstExtraLine, error.Line);
        Assert.Equal("pools.app.shards.2", error.Key);
        Assert.Contains("without gaps, but shard 1 is missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_shard_that_is_not_a_number_is_an_error()
    {
        var error = TestConfigs.FailsWith("[pools.app.shards.first]\nservers = [[\"h\", 5432, \"primary\"]]\ndatabase = \"d\"");

        Assert.Equal("pools.app.shards.first", error.Key);
        Assert.Contains("shard names must be numbers counted from 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_database_names_the_shard_table_line()
    {
        var error = TestConfigs.Fails(Replace("database = \"app\"", ""));

        Assert.Equal(9, error.Line);
        Assert.Equal("pools.app.shards.0.database", error.Key);
    }

    [Fact]
    public void An_unknown_server_role_lists_the_allowed_roles()
    {
        var error = TestConfigs.Fails(Replace("\"primary\"]]", "\"master\"]]"));

        Assert.Equal("pooler.toml:10: pools.app.shards.0.servers[0]: the role must be one of \"primary\", \"replica\", got \"master\"",
            error.Message);
    }

    [Fact]
    public void Two_primaries_in_a_shard_are_an_error_at_the_second()
    {
        var error = TestConfigs.Fails(Replace(
            "servers = [[\"127.0.0.1\", 5432, \"primary\"]]",
            "servers = [\n  [\"127.0.0.1\", 5432, \"primary\"],\n  [\"127.0.0.2\", 5432, \"primary\"],\n]"));

        Assert.Equal(12, error.Line);
        Assert.Equal("pools.app.shards.0.servers[1]", error.Key);
        Assert.Contains("a shard has at most one primary", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_replicas_only_shard_loads_when_the_default_role_allows_it()
    {
        var config = TestConfigs.Load(Replace("\"primary\"]]", "\"replica\"]]"));

        Assert.Null(config.Pools[0].Shards[0].Primary);
    }

    [Fact]
    public void A_replicas_only_shard_is_an_error_when_the_default_role_is_primary()
    {
        var error = TestConfigs.Fails(Replace("\"primary\"]]", "\"replica\"]]")
            .Replace("pool_mode = \"transaction\"", "default_role = \"primary\"", StringComparison.Ordinal));

        Assert.Equal("pools.app.shards.0.servers", error.Key);
        Assert.Contains("has no primary", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_server_list_is_an_error()
    {
        var error = TestConfigs.Fails(Replace("[[\"127.0.0.1\", 5432, \"primary\"]]", "[]"));

        Assert.Equal("pooler.toml:10: pools.app.shards.0.servers: is empty; list at least one [\"host\", port, \"primary\"] entry",
            error.Message);
    }

    [Theory]
    [InlineData("[\"127.0.0.1\", 5432]", "got 2 elements")]
    [InlineData("[\"127.0.0.1\", \"5432\", \"primary\"]", "the port must be from 1 to 65535, got \"5432\"")]
    [InlineData("[\"127.0.0.1\", 70000, \"primary\"]", "the port must be from 1 to 65535, got 70000")]
    [InlineData("[\"\", 5432, \"primary\"]", "the host must be a host name or address, got \"\"")]
    [InlineData("\"127.0.0.1:5432\"", "got \"127.0.0.1:5432\"")]
    public void A_malformed_server_entry_is_an_error_naming_the_entry(string entry, string problem)
    {
        var error = TestConfigs.Fails(Replace("[[\"127.0.0.1\", 5432, \"primary\"]]", $"[{entry}]"));

        Assert.Equal("pools.app.shards.0.servers[0]", error.Key);
        Assert.Equal(10, error.Line);
        Assert.EndsWith(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_server_twice_in_a_shard_is_an_error()
    {
        var error = TestConfigs.Fails(Replace(
            "[[\"127.0.0.1\", 5432, \"primary\"]]", "[[\"127.0.0.1\", 5432, \"primary\"], [\"127.0.0.1\", 5432, \"replica\"]]"));

        Assert.Equal("pools.app.shards.0.servers[1]", error.Key);
        Assert.Contains("already listed as pools.app.shards.0.servers[0]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_mirror_pointing_past_the_servers_is_an_error()
    {
        var error = TestConfigs.Fails(Replace("database = \"app\"", "database = \"app\"\nmirrors = [[\"10.0.0.9\", 5432, 1]]"));

        Assert.Equal("pooler.toml:12: pools.app.shards.0.mirrors[0]: the server index must be from 0 to 0 (a position in servers), got 1",
            error.Message);
    }

    [Fact]
    public void A_default_shard_beyond_the_shards_is_an_error()
    {
        var error = TestConfigs.Fails(Replace("pool_mode = \"transaction\"", "default_shard = \"shard_3\""));

        Assert.Equal("pooler.toml:2: pools.app.default_shard: names shard 3, but this pool has shards 0 to 0", error.Message);
    }

    [Theory]
    [InlineData("\"random\"", DefaultShardKind.Random, 0)]
    [InlineData("\"random_healthy\"", DefaultShardKind.RandomHealthy, 0)]
    [InlineData("\"shard_0\"", DefaultShardKind.Index, 0)]
    [InlineData("0", DefaultShardKind.Index, 0)]
    public void Default_shard_accepts_PgCats_forms_and_a_number(string value, DefaultShardKind kind, int index)
    {
        var config = TestConfigs.Load(Replace("pool_mode = \"transaction\"", $"default_shard = {value}"));

        Assert.Equal(new DefaultShard(kind, index), config.Pools[0].DefaultShard);
    }

    [Fact]
    public void Read_write_splitting_without_the_query_parser_is_an_error()
    {
        var error = TestConfigs.Fails(Replace("pool_mode = \"transaction\"", "query_parser_read_write_splitting = true"));

        Assert.Equal("pools.app.query_parser_read_write_splitting", error.Key);
        Assert.Contains("needs query_parser_enabled = true", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unqualified_automatic_sharding_key_is_an_error()
    {
        var error = TestConfigs.Fails(Replace("pool_mode = \"transaction\"", "automatic_sharding_key = \"id\""));

        Assert.Equal("pooler.toml:2: pools.app.automatic_sharding_key: must be a qualified column, \"table.column\", got \"id\"",
            error.Message);
    }

    [Fact]
    public void A_pool_name_longer_than_postgres_allows_is_an_error()
    {
        var name = new string('p', 64);
        var error = TestConfigs.Fails(TestConfigs.Minimal.Replace("pools.app", $"pools.{name}", StringComparison.Ordinal));

        Assert.Equal($"pools.{name}", error.Key);
        Assert.Contains("longer than 63 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_quoted_pool_name_with_a_dot_is_one_pool()
    {
        var config = TestConfigs.Load(TestConfigs.Minimal.Replace("pools.app", "pools.\"my.app\"", StringComparison.Ordinal));

        Assert.Equal("my.app", config.Pools[0].Name);
    }
}
