using Pooler.Config.Toml;

namespace Pooler.Config.Sections;

/// <summary>Reads one <c>[pools.&lt;name&gt;]</c> with its users and shards.</summary>
internal static class PoolSection
{
    private const string NotUsed = "accepted for PgCat compatibility; Pooler does not use it";

    public static PoolConfig Read(string name, TableReader r, GeneralConfig general)
    {
        if (!Validation.FitsIdentifier(name))
            throw r.Context.Error(r.Line, r.Table.Path, Validation.TooLong("the pool name"));

        var queryParserEnabled = r.Boolean("query_parser_enabled", Defaults.Pool.QueryParserEnabled);
        var readWriteSplitting = r.Boolean("query_parser_read_write_splitting", Defaults.Pool.QueryParserReadWriteSplitting);
        if (readWriteSplitting && !queryParserEnabled)
            throw r.Error("query_parser_read_write_splitting", "needs query_parser_enabled = true; enable the parser or remove this key");

        var pool = new PoolConfig
        {
            Name = name,
            PoolMode = r.Choice("pool_mode", Defaults.Pool.PoolMode, ConfigNames.PoolModes),
            DefaultRole = r.Choice("default_role", Defaults.Pool.DefaultRole, ConfigNames.DefaultRoles),
            QueryParserEnabled = queryParserEnabled,
            QueryParserReadWriteSplitting = readWriteSplitting,
            PrimaryReadsEnabled = r.Boolean("primary_reads_enabled", Defaults.Pool.PrimaryReadsEnabled),
            MaxReplicaLagBytes = r.Int("max_replica_lag_bytes", (int)Defaults.Pool.MaxReplicaLagBytes, 0),
            LoadBalancingMode = r.Choice("load_balancing_mode", Defaults.Pool.LoadBalancingMode, ConfigNames.LoadBalancingModes),
            ShardingFunction = r.Choice("sharding_function", Defaults.Pool.ShardingFunction, ConfigNames.ShardingFunctions),
            AutomaticShardingKey = ReadAutomaticShardingKey(r),
            ConnectTimeout = r.Milliseconds("connect_timeout", general.ConnectTimeout),
            IdleTimeout = r.Milliseconds("idle_timeout", general.IdleTimeout),
            ServerLifetime = r.Milliseconds("server_lifetime", general.ServerLifetime),
            PreparedStatementsCacheSize = r.Int("prepared_statements_cache_size",
                general.PreparedStatements ? general.PreparedStatementsCacheSize : 0, 0),
            Users = [],
            Shards = [],
        };
        var defaultShardNode = r.Node("default_shard");
        var defaultShard = ReadDefaultShard(r);

        r.Ignore("query_parser_max_length", NotUsed);
        r.Ignore("sharding_key_regex", NotUsed);
        r.Ignore("shard_id_regex", NotUsed);
        r.Ignore("regex_search_limit", NotUsed);
        r.Ignore("auth_query", $"{NotUsed}: passwords come from the users' entries");
        r.Ignore("auth_query_user", $"{NotUsed}: passwords come from the users' entries");
        r.Ignore("auth_query_password", $"{NotUsed}: passwords come from the users' entries");
        r.Ignore("cleanup_server_connections", $"{NotUsed}: server_reset_query decides how a connection is cleaned");
        r.Ignore("log_client_parameter_status_changes", NotUsed);
        r.Ignore("plugins", $"{NotUsed}: PgCat plugins have no counterpart in Pooler");

        var users = ReadUsers(r, pool, general);
        var shards = ReadShards(r, pool);
        if (defaultShard.Kind == DefaultShardKind.Index && defaultShard.Index >= shards.Count && defaultShardNode is not null)
            throw r.Error("default_shard", $"names shard {defaultShard.Index}, but this pool has shards 0 to {shards.Count - 1}");

        r.RejectUnknownKeys();
        return pool with { Users = users, Shards = shards, DefaultShard = defaultShard };
    }

    private static List<UserConfig> ReadUsers(TableReader r, PoolConfig pool, GeneralConfig general)
    {
        var table = r.OptionalTable("users")
            ?? throw r.Missing("users", $"add a [{r.KeyPath("users")}.0] table with username, password and pool_size");
        var users = new List<UserConfig>();
        var firstDefinedAt = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (_, reader) in table.ChildTables())
        {
            var user = UserSection.Read(reader, pool, general);
            if (!firstDefinedAt.TryAdd(user.Username, reader.Table.Path))
                throw reader.Error("username",
                    $"user \"{user.Username}\" is already defined in [{firstDefinedAt[user.Username]}]; each username appears once per pool");
            users.Add(user);
        }
        if (users.Count == 0)
            throw table.Context.Error(table.Line, table.Table.Path, $"no users; add a [{table.Table.Path}.0] table with username, password and pool_size");
        return users;
    }

    private static List<ShardConfig> ReadShards(TableReader r, PoolConfig pool)
    {
        var table = r.OptionalTable("shards")
            ?? throw r.Missing("shards", $"add a [{r.KeyPath("shards")}.0] table with servers and database");
        var byIndex = new SortedDictionary<int, (ShardConfig Shard, TableReader Reader)>();
        foreach (var (name, reader) in table.ChildTables())
        {
            // Shard numbers are what sharding functions compute, so they must be 0, 1, 2 …
            if (!int.TryParse(name, System.Globalization.NumberStyles.None, null, out var index) ||
                index.ToString(System.Globalization.CultureInfo.InvariantCulture) != name)
                throw table.Context.Error(reader.Line, reader.Table.Path,
                    $"shard names must be numbers counted from 0 ([{table.Table.Path}.0], [{table.Table.Path}.1] …), got \"{name}\"");
            byIndex.Add(index, (ShardSection.Read(reader, index, pool), reader));
        }
        if (byIndex.Count == 0)
            throw table.Context.Error(table.Line, table.Table.Path, $"no shards; add a [{table.Table.Path}.0] table with servers and database");

        var shards = new List<ShardConfig>();
        foreach (var (index, (shard, reader)) in byIndex)
        {
            if (index != shards.Count)
                throw table.Context.Error(reader.Line, reader.Table.Path,
                    $"shard numbers must run 0, 1, 2 … without gaps, but shard {shards.Count} is missing");
            shards.Add(shard);
        }
        return shards;
    }

    // PgCat requires a fully qualified "table.column" so that it never guesses which table is meant.
    private static string? ReadAutomaticShardingKey(TableReader r)
    {
        var key = r.OptionalString("automatic_sharding_key");
        if (key is null)
            return null;
        var unquoted = key.Replace("\"", "", StringComparison.Ordinal);
        var parts = unquoted.Split('.');
        if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
            throw r.Error("automatic_sharding_key", $"must be a qualified column, \"table.column\", got \"{key}\"");
        return unquoted;
    }

    // PgCat writes "shard_0", "random" or "random_healthy"; a bare shard number is accepted too.
    private static DefaultShard ReadDefaultShard(TableReader r)
    {
        const string expectation = "must be \"shard_<n>\", \"random\", \"random_healthy\" or a shard number";
        var node = r.Node("default_shard");
        if (node is TomlValue { Syntax: Tomlyn.Syntax.IntegerValueSyntax })
            return new DefaultShard(DefaultShardKind.Index, r.Int("default_shard", 0, 0, int.MaxValue, expectation));
        var text = r.OptionalString("default_shard", expectation: expectation);
        switch (text)
        {
            case null:
                return Defaults.Pool.DefaultShard;
            case "random":
                return new DefaultShard(DefaultShardKind.Random, 0);
            case "random_healthy":
                return new DefaultShard(DefaultShardKind.RandomHealthy, 0);
        }
        if (text.StartsWith("shard_", StringComparison.Ordinal) &&
            int.TryParse(text.AsSpan(6), System.Globalization.NumberStyles.None, null, out var index))
            return new DefaultShard(DefaultShardKind.Index, index);
        throw r.Error("default_shard", $"{expectation}, got \"{text}\"");
    }
}
