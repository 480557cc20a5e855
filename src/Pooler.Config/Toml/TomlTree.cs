using Tomlyn.Syntax;

namespace Pooler.Config.Toml;

/// <summary>
/// A TOML document as nested tables that remember where each key was written. Tomlyn's model
/// (TomlTable) loses line numbers and its syntax tree keeps tables flat, so the loader builds
/// this from the syntax tree once and reads everything from here.
/// </summary>
internal abstract class TomlNode(string path, int line)
{
    /// <summary>Dotted key path from the root, e.g. <c>pools.app.users.0</c>.</summary>
    public string Path { get; } = path;

    /// <summary>1-based line where the key or table header was written.</summary>
    public int Line { get; protected set; } = line;
}

/// <summary>A key = value whose value is not a table.</summary>
internal sealed class TomlValue(string path, int line, ValueSyntax syntax) : TomlNode(path, line)
{
    public ValueSyntax Syntax { get; } = syntax;
}

/// <summary>An array of tables (<c>[[name]]</c>); Pooler reads none, but ignored sections may hold one.</summary>
internal sealed class TomlTableArray(string path, int line) : TomlNode(path, line)
{
    public List<TomlTable> Tables { get; } = [];
}

internal sealed class TomlTable(string path, int line) : TomlNode(path, line)
{
    private readonly Dictionary<string, TomlNode> _items = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    /// <summary>True once a <c>[header]</c> names this table; until then its line is where a subtable first implied it.</summary>
    public bool HasHeader { get; private set; }

    public IEnumerable<(string Key, TomlNode Node)> Items => _order.Select(k => (k, _items[k]));

    public int Count => _order.Count;

    public TomlNode? Get(string key) => _items.GetValueOrDefault(key);

    public void Add(string key, TomlNode node)
    {
        _items.Add(key, node);
        _order.Add(key);
    }

    public void MarkHeader(int line)
    {
        HasHeader = true;
        Line = line;
    }

    public string ChildPath(string key) => Path.Length == 0 ? Quote(key) : $"{Path}.{Quote(key)}";

    // pools."my.db" keeps the key path unambiguous when a name holds a dot or a space.
    private static string Quote(string key) => BareKeySyntax.IsBareKey(key) ? key : $"\"{key}\"";
}

/// <summary>Turns Tomlyn's syntax tree into <see cref="TomlTable"/>s.</summary>
internal sealed class TomlTreeBuilder(string file)
{
    /// <summary>Builds the tree of a document Tomlyn has already validated (no duplicate or conflicting keys).</summary>
    public static TomlTable Build(DocumentSyntax document, string file) => new TomlTreeBuilder(file).Build(document);

    private TomlTable Build(DocumentSyntax document)
    {
        var root = new TomlTable("", 1);
        foreach (var keyValue in document.KeyValues)
            AddKeyValue(root, keyValue);

        foreach (var header in document.Tables)
        {
            if (header.Name is null)
                continue;
            var parts = KeyParts(header.Name);
            var line = LineOf(header.Name);
            var parent = WalkToParent(root, parts, line);
            var last = parts[^1];

            TomlTable table;
            if (header is TableArraySyntax)
            {
                if (parent.Get(last) is not TomlTableArray array)
                {
                    array = new TomlTableArray(parent.ChildPath(last), line);
                    parent.Add(last, array);
                }
                table = new TomlTable($"{array.Path}[{array.Tables.Count}]", line);
                array.Tables.Add(table);
            }
            else
            {
                table = GetOrAddTable(parent, last, line);
            }
            table.MarkHeader(line);

            foreach (var keyValue in header.Items)
                AddKeyValue(table, keyValue);
        }
        return root;
    }

    /// <summary>1-based line of a syntax node (Tomlyn counts from 0).</summary>
    public static int LineOf(SyntaxNodeBase node) => node.Span.Start.Line + 1;

    public static List<string> KeyParts(KeySyntax key)
    {
        var parts = new List<string> { Text(key.Key) };
        foreach (var dotted in key.DotKeys)
            parts.Add(Text(dotted.Key));
        return parts;
    }

    private static string Text(BareKeyOrStringValueSyntax? key) => key switch
    {
        BareKeySyntax bare => bare.Key?.Text ?? "",
        StringValueSyntax quoted => quoted.Value ?? "",
        _ => "",
    };

    private void AddKeyValue(TomlTable table, KeyValueSyntax keyValue)
    {
        if (keyValue.Key is null || keyValue.Value is null)
            return;
        var parts = KeyParts(keyValue.Key);
        var line = LineOf(keyValue.Key);
        var parent = WalkToParent(table, parts, line);
        AddValue(parent, parts[^1], line, keyValue.Value);
    }

    private void AddValue(TomlTable parent, string key, int line, ValueSyntax value)
    {
        if (value is InlineTableSyntax inline)
        {
            var table = new TomlTable(parent.ChildPath(key), line);
            parent.Add(key, table);
            foreach (var item in inline.Items)
            {
                if (item.KeyValue is not null)
                    AddKeyValue(table, item.KeyValue);
            }
            return;
        }
        parent.Add(key, new TomlValue(parent.ChildPath(key), line, value));
    }

    // [a.b.c] and a.b.c = 1 both imply tables a and a.b; the last table of an array of
    // tables is the one a dotted name continues into, as TOML specifies.
    private TomlTable WalkToParent(TomlTable start, List<string> parts, int line)
    {
        var table = start;
        for (var i = 0; i < parts.Count - 1; i++)
        {
            table = table.Get(parts[i]) switch
            {
                TomlTableArray array when array.Tables.Count > 0 => array.Tables[^1],
                _ => GetOrAddTable(table, parts[i], line),
            };
        }
        return table;
    }

    private TomlTable GetOrAddTable(TomlTable parent, string key, int line)
    {
        switch (parent.Get(key))
        {
            case TomlTable existing:
                return existing;
            case { } other:
                // Tomlyn's validation reports this first; kept so a gap there cannot crash the loader.
                throw new ConfigException(file, line, parent.ChildPath(key),
                    $"already defined at line {other.Line} as something other than a table; define it once");
        }
        var table = new TomlTable(parent.ChildPath(key), line);
        parent.Add(key, table);
        return table;
    }
}
