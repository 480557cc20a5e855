using Pooler.Config.Sections;
using Pooler.Config.Toml;
using Tomlyn.Parsing;

namespace Pooler.Config;

/// <summary>
/// Reads a PgCat-shaped TOML file into a validated <see cref="PoolerConfig"/>. Anything wrong —
/// TOML syntax, an unknown key, a wrong type, a bad value — is a <see cref="ConfigException"/>
/// whose one-line message names the file, the line and the key.
/// </summary>
public static class ConfigLoader
{
    private const string PgCatPlugins = "accepted for PgCat compatibility; Pooler does not use it: PgCat plugins have no counterpart in Pooler";

    public static PoolerConfig LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ConfigException(path, $"cannot read the configuration file: {e.Message}", e);
        }
        return Parse(text, path);
    }

    /// <param name="text">The TOML text.</param>
    /// <param name="fileName">How error messages name the source (a path, or e.g. "pooler.toml").</param>
    public static PoolerConfig Parse(string text, string fileName)
    {
        var root = ParseToml(text, fileName);
        var context = new ReadContext(fileName);
        var top = new TableReader(context, root);

        // Sections first: a misspelt [pols.app] would otherwise surface as a puzzling "no pools".
        top.Expect("general", "pools", "cluster", "http");
        top.Ignore("plugins", PgCatPlugins);
        top.RejectUnknownKeys();

        var generalReader = top.OptionalTable("general") ?? Empty(context, "general");
        var general = GeneralSection.Read(generalReader, out var exporter);
        var pools = ReadPools(top, general);
        var clusterReader = top.OptionalTable("cluster") ?? Empty(context, "cluster");
        var cluster = ClusterSection.Read(clusterReader);
        var (http, httpListener) = HttpSection.Read(top.OptionalTable("http"), generalReader, exporter, general);

        List<Listener> listeners =
        [
            Listener.From(generalReader, "port", general.Host, general.Port),
            Listener.From(clusterReader, "port", cluster.Host, cluster.Port),
            Listener.From(clusterReader, "relay_port", cluster.Host, cluster.RelayPort),
        ];
        if (httpListener is not null)
            listeners.Add(httpListener);
        Listeners.Check(context, listeners);

        return new PoolerConfig
        {
            SourceFile = fileName,
            General = general,
            Pools = pools,
            Cluster = cluster,
            Http = http,
            Ignored = context.Ignored.OrderBy(i => i.Line).ToList(),
        };
    }

    private static TomlTable ParseToml(string text, string fileName)
    {
        Tomlyn.Syntax.DocumentSyntax document;
        try
        {
            document = SyntaxParser.Parse(text, fileName, validate: true);
        }
        catch (Tomlyn.TomlException e)
        {
            throw new ConfigException(fileName, e.Line ?? 1, "", $"invalid TOML: {e.Message}");
        }
        if (document.HasErrors)
            throw SyntaxErrors.First(document, fileName);
        return TomlTreeBuilder.Build(document, fileName);
    }

    private static List<PoolConfig> ReadPools(TableReader top, GeneralConfig general)
    {
        var poolsReader = top.OptionalTable("pools");
        var pools = new List<PoolConfig>();
        if (poolsReader is not null)
        {
            foreach (var (name, reader) in poolsReader.ChildTables())
                pools.Add(PoolSection.Read(name, reader, general));
        }
        if (pools.Count == 0)
            throw top.Context.Error(poolsReader?.Line ?? 1, "pools",
                "no pools; add a [pools.<name>] section (clients connect to <name> as their database) with users and shards");
        return pools;
    }

    // An absent section reads as an empty one, so defaults come from the same code path.
    private static TableReader Empty(ReadContext context, string name) => new(context, new TomlTable(name, 1));
}
