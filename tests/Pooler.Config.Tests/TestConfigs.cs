namespace Pooler.Config.Tests;

/// <summary>Configurations shared by the tests, and helpers to load or fail them.</summary>
internal static class TestConfigs
{
    public const string FileName = "pooler.toml";

    /// <summary>The seed shape: one pool, one user, pool_size = 1, transaction mode; everything else default.</summary>
    public const string Minimal = """
        [pools.app]
        pool_mode = "transaction"

        [pools.app.users.0]
        username = "app"
        password = "secret"
        pool_size = 1

        [pools.app.shards.0]
        servers = [["127.0.0.1", 5432, "primary"]]
        database = "app"
        """;

    public static PoolerConfig Load(string toml) => ConfigLoader.Parse(toml, FileName);

    /// <summary>Minimal plus more sections (TOML lets later tables follow).</summary>
    public static PoolerConfig LoadWith(string extra) => Load(Minimal + "\n" + extra);

    public static ConfigException Fails(string toml)
    {
        var error = Assert.Throws<ConfigException>(() => Load(toml));
        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith($"{FileName}:{error.Line}: ", error.Message, StringComparison.Ordinal);
        return error;
    }

    /// <summary>Minimal has 11 lines, so the first line of the extra text is line <see cref="FirstExtraLine"/>.</summary>
    public static ConfigException FailsWith(string extra) => Fails(Minimal + "\n" + extra);

    public const int FirstExtraLine = 12;

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);
}
