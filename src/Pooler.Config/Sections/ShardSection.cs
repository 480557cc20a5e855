using Pooler.Config.Toml;
using Tomlyn.Syntax;

namespace Pooler.Config.Sections;

/// <summary>Reads one <c>[pools.&lt;name&gt;.shards.&lt;n&gt;]</c>: its database, servers and mirrors.</summary>
internal static class ShardSection
{
    private const string ServerShape = "must be [\"host\", port, \"primary\" or \"replica\"]";
    private const string MirrorShape = "must be [\"host\", port, index of a server in servers]";

    public static ShardConfig Read(TableReader r, int index, PoolConfig pool)
    {
        var database = r.RequiredString("database", "set database = \"<the database name on the PostgreSQL servers>\"");
        if (!Validation.FitsIdentifier(database))
            throw r.Error("database", Validation.TooLong("the database name"));

        var servers = ReadServers(r);
        if (pool.DefaultRole == DefaultRole.Primary && !servers.Any(s => s.Role == ServerRole.Primary))
            throw r.Error("servers",
                "has no primary, but the pool's default_role is \"primary\"; add a primary or set default_role = \"any\"");

        var mirrors = ReadMirrors(r, servers.Count);
        r.RejectUnknownKeys();
        return new ShardConfig { Index = index, Database = database, Servers = servers, Mirrors = mirrors };
    }

    private static List<ServerAddress> ReadServers(TableReader r)
    {
        var (node, array) = r.OptionalArray("servers", "must be an array of [\"host\", port, \"role\"] entries")
            ?? throw r.Missing("servers", "set servers = [[\"host\", 5432, \"primary\"]]");
        var servers = new List<ServerAddress>();
        var entries = Entries(r, node, array, ServerShape);
        if (entries.Count == 0)
            throw r.Context.Error(node, "is empty; list at least one [\"host\", port, \"primary\"] entry");

        foreach (var (line, path, items) in entries)
        {
            var host = Host(r, line, path, items[0], ServerShape);
            var port = Port(r, line, path, items[1], ServerShape);
            if (items[2] is not StringValueSyntax { Value: { } roleText } || !ConfigNames.ServerRoles.TryParse(roleText, out var role))
                throw r.Context.Error(line, path,
                    $"the role must be one of {ConfigNames.ServerRoles.Allowed}, got {TableReader.Describe(items[2])}");

            // Pooler tells servers apart by address, and a shard can only have one primary to write to.
            if (servers.FindIndex(s => string.Equals(s.Host, host, StringComparison.OrdinalIgnoreCase) && s.Port == port) is var same and >= 0)
                throw r.Context.Error(line, path, $"{host}:{port} is already listed as {node.Path}[{same}]; list each server once");
            if (role == ServerRole.Primary && servers.FindIndex(s => s.Role == ServerRole.Primary) is var first and >= 0)
                throw r.Context.Error(line, path, $"a second primary (the first is {node.Path}[{first}]); a shard has at most one primary");
            servers.Add(new ServerAddress(host, port, role));
        }
        return servers;
    }

    private static List<MirrorAddress> ReadMirrors(TableReader r, int serverCount)
    {
        if (r.OptionalArray("mirrors", "must be an array of [\"host\", port, server_index] entries") is not var (node, array))
            return [];
        var mirrors = new List<MirrorAddress>();
        foreach (var (line, path, items) in Entries(r, node, array, MirrorShape))
        {
            var host = Host(r, line, path, items[0], MirrorShape);
            var port = Port(r, line, path, items[1], MirrorShape);
            if (items[2] is not IntegerValueSyntax { Value: var target } || target < 0 || target >= serverCount)
                throw r.Context.Error(line, path,
                    $"the server index must be from 0 to {serverCount - 1} (a position in servers), got {TableReader.Describe(items[2])}");
            mirrors.Add(new MirrorAddress(host, port, (int)target));
        }
        return mirrors;
    }

    /// <summary>The three-element entries of an array of arrays, each with its own line and path for errors.</summary>
    private static List<(int Line, string Path, ValueSyntax?[] Items)> Entries(TableReader r, TomlValue node, ArraySyntax array, string shape)
    {
        var entries = new List<(int, string, ValueSyntax?[])>();
        foreach (var item in array.Items)
        {
            var path = $"{node.Path}[{entries.Count}]";
            var line = TomlTreeBuilder.LineOf(item);
            if (item.Value is not ArraySyntax inner)
                throw r.Context.Error(line, path, $"{shape}, got {TableReader.Describe(item.Value)}");
            var items = inner.Items.Select(i => i.Value).ToArray();
            if (items.Length != 3)
                throw r.Context.Error(line, path, $"{shape}, got {items.Length} element{(items.Length == 1 ? "" : "s")}");
            entries.Add((line, path, items));
        }
        return entries;
    }

    private static string Host(TableReader r, int line, string path, ValueSyntax? value, string shape) =>
        value is StringValueSyntax { Value: { } host } && Validation.IsHostName(host)
            ? host
            : throw r.Context.Error(line, path, $"{shape}: the host must be a host name or address, got {TableReader.Describe(value)}");

    private static int Port(TableReader r, int line, string path, ValueSyntax? value, string shape) =>
        value is IntegerValueSyntax { Value: >= 1 and <= 65535 } port
            ? (int)port.Value
            : throw r.Context.Error(line, path, $"{shape}: the port must be from 1 to 65535, got {TableReader.Describe(value)}");
}
