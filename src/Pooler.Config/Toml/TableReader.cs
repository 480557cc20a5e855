using Tomlyn.Syntax;

namespace Pooler.Config.Toml;

/// <summary>
/// Reads the keys of one table with their types and ranges, and remembers every key it was
/// asked about so that <see cref="RejectUnknownKeys"/> can call anything else a mistake and
/// suggest the nearest known key. Every error names the key and the line it was written on.
/// </summary>
internal sealed class TableReader(ReadContext context, TomlTable table)
{
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    public ReadContext Context => context;

    public TomlTable Table => table;

    /// <summary>1-based line of the table's header (or of the first key that implied it).</summary>
    public int Line => table.Line;

    public string KeyPath(string key) => table.ChildPath(key);

    public TomlNode? Node(string key)
    {
        _known.Add(key);
        return table.Get(key);
    }

    public bool Has(string key) => Node(key) is not null;

    /// <summary>Line of a key if present, else of the table, so "missing" errors point at the table.</summary>
    public int LineOf(string key) => table.Get(key)?.Line ?? table.Line;

    public ConfigException Error(string key, string problem) => context.Error(LineOf(key), KeyPath(key), problem);

    /// <summary>A required key is absent: the error names the table's line and says what to add.</summary>
    public ConfigException Missing(string key, string whatToAdd)
    {
        // "poolsize = 1" should read as a typo of pool_size, not as pool_size missing.
        foreach (var (written, node) in table.Items)
        {
            if (!_known.Contains(written) && KeySuggestions.Nearest(written, [key]) is not null)
                return context.Error(node, $"unknown key (did you mean '{key}'?)");
        }
        return context.Error(table.Line, KeyPath(key), $"missing required key; {whatToAdd}");
    }

    // ---- strings ----------------------------------------------------------------------------

    public string? OptionalString(string key, bool secret = false, bool allowEmpty = false, string expectation = "must be a string")
    {
        var value = ScalarValue(key, expectation);
        if (value is null)
            return null;
        if (value.Syntax is not StringValueSyntax text)
            throw context.Error(value, $"{expectation}, got {Describe(value.Syntax, secret)}");
        var result = text.Value ?? "";
        if (!allowEmpty && result.Length == 0)
            throw context.Error(value, "must not be empty");
        return result;
    }

    public string String(string key, string fallback, bool allowEmpty = false) =>
        OptionalString(key, allowEmpty: allowEmpty) ?? fallback;

    public string RequiredString(string key, string whatToAdd, bool secret = false) =>
        OptionalString(key, secret) ?? throw Missing(key, whatToAdd);

    // ---- numbers, booleans, durations ---------------------------------------------------------

    public long? OptionalInteger(string key, long min, long max, string? expectation = null)
    {
        expectation ??= RangeText(min, max);
        var value = ScalarValue(key, expectation);
        if (value is null)
            return null;
        if (value.Syntax is not IntegerValueSyntax number)
            throw context.Error(value, $"{expectation}, got {Describe(value.Syntax)}");
        if (number.Value < min || number.Value > max)
            throw context.Error(value, $"{expectation}, got {number.Value}");
        return number.Value;
    }

    public int Int(string key, int fallback, int min, int max = int.MaxValue, string? expectation = null) =>
        (int)(OptionalInteger(key, min, max, expectation) ?? fallback);

    public int Port(string key, int fallback, bool zeroAllowed = false) =>
        Int(key, fallback, zeroAllowed ? 0 : 1, 65535,
            zeroAllowed ? "must be a port number from 1 to 65535, or 0 for off" : "must be a port number from 1 to 65535");

    public bool? OptionalBoolean(string key)
    {
        var value = ScalarValue(key, "must be true or false");
        if (value is null)
            return null;
        return value.Syntax is BooleanValueSyntax flag
            ? flag.Value
            : throw context.Error(value, $"must be true or false, got {Describe(value.Syntax)}");
    }

    public bool Boolean(string key, bool fallback) => OptionalBoolean(key) ?? fallback;

    // int.MaxValue milliseconds (about 24.8 days) is the longest every .NET timer API accepts.
    public TimeSpan? OptionalMilliseconds(string key) =>
        OptionalInteger(key, 0, int.MaxValue, "must be a duration in milliseconds from 0 to 2147483647") is { } ms
            ? TimeSpan.FromMilliseconds(ms)
            : null;

    public TimeSpan Milliseconds(string key, TimeSpan fallback) => OptionalMilliseconds(key) ?? fallback;

    public TimeSpan Seconds(string key, TimeSpan fallback) =>
        OptionalInteger(key, 0, int.MaxValue / 1000, "must be a duration in seconds from 0 to 2147483") is { } s
            ? TimeSpan.FromSeconds(s)
            : fallback;

    // ---- enums ----------------------------------------------------------------------------------

    public T? OptionalChoice<T>(string key, Choices<T> choices) where T : struct, Enum
    {
        var expectation = $"must be one of {choices.Allowed}";
        var text = OptionalString(key, allowEmpty: true, expectation: expectation);
        if (text is null)
            return null;
        return choices.TryParse(text, out var value)
            ? value
            : throw Error(key, $"{expectation}, got \"{Shorten(text)}\"");
    }

    public T Choice<T>(string key, T fallback, Choices<T> choices) where T : struct, Enum =>
        OptionalChoice(key, choices) ?? fallback;

    // ---- arrays and tables ----------------------------------------------------------------------

    public (TomlValue Node, ArraySyntax Array)? OptionalArray(string key, string expectation)
    {
        var value = ScalarValue(key, expectation);
        if (value is null)
            return null;
        return value.Syntax is ArraySyntax array
            ? (value, array)
            : throw context.Error(value, $"{expectation}, got {Describe(value.Syntax)}");
    }

    /// <summary>An array of non-empty strings; each bad element is reported as <c>key[i]</c> on its own line.</summary>
    public IReadOnlyList<(string Text, int Line, string Path)>? OptionalStringArray(string key)
    {
        const string expectation = "must be an array of strings";
        if (OptionalArray(key, expectation) is not var (node, array))
            return null;
        var result = new List<(string, int, string)>();
        var index = 0;
        foreach (var item in array.Items)
        {
            var path = $"{node.Path}[{index}]";
            var line = TomlTreeBuilder.LineOf(item);
            if (item.Value is not StringValueSyntax { Value: { Length: > 0 } text })
                throw context.Error(line, path, $"must be a non-empty string, got {Describe(item.Value)}");
            result.Add((text, line, path));
            index++;
        }
        return result;
    }

    public TableReader? OptionalTable(string key) =>
        Node(key) switch
        {
            null => null,
            TomlTable child => new TableReader(context, child),
            var other => throw context.Error(other, $"must be a table ([{other.Path}]), got {DescribeNode(other)}"),
        };

    /// <summary>Every entry of this table, each of which must itself be a table (users, shards, pools).</summary>
    public IEnumerable<(string Name, TableReader Reader)> ChildTables()
    {
        foreach (var (key, node) in table.Items)
        {
            _known.Add(key);
            if (node is not TomlTable child)
                throw context.Error(node, $"must be a table ([{node.Path}]), got {DescribeNode(node)}");
            yield return (key, new TableReader(context, child));
        }
    }

    // ---- accepted but unused, and unknown keys ----------------------------------------------------

    /// <summary>A key Pooler accepts for PgCat compatibility and ignores; recorded so the host can say so.</summary>
    public void Ignore(string key, string reason)
    {
        if (Node(key) is { } node)
            context.Ignored.Add(new IgnoredSetting(context.File, node.Line, node.Path, reason));
    }

    /// <summary>Declares keys read elsewhere, so that they count as known.</summary>
    public void Expect(params string[] keys)
    {
        foreach (var key in keys)
            _known.Add(key);
    }

    public void RejectUnknownKeys()
    {
        foreach (var (key, node) in table.Items)
        {
            if (_known.Contains(key))
                continue;
            var what = node is TomlValue ? "unknown key" : "unknown section";
            var problem = KeySuggestions.Nearest(key, _known) is { } nearest
                ? $"{what} (did you mean '{nearest}'?)"
                : $"{what}; remove it or check its spelling against docs/config.md";
            throw context.Error(node, problem);
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private TomlValue? ScalarValue(string key, string expectation) =>
        Node(key) switch
        {
            null => null,
            TomlValue value => value,
            var other => throw context.Error(other, $"{expectation}, got {DescribeNode(other)}"),
        };

    private static string RangeText(long min, long max) => (min, max) switch
    {
        (1, int.MaxValue) => "must be a positive integer",
        (0, int.MaxValue) => "must be zero or a positive integer",
        _ => $"must be an integer from {min} to {max}",
    };

    private static string DescribeNode(TomlNode node) => node switch
    {
        TomlValue value => Describe(value.Syntax),
        TomlTableArray => "an array of tables",
        _ => "a table",
    };

    /// <summary>The value as the user wrote it, for "got …"; secrets are described by type only.</summary>
    public static string Describe(ValueSyntax? value, bool secret = false) => value switch
    {
        StringValueSyntax when secret => "a string",
        StringValueSyntax text => $"\"{Shorten(text.Value ?? "")}\"",
        IntegerValueSyntax number => secret ? "an integer" : number.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
        BooleanValueSyntax flag => flag.Value ? "true" : "false",
        FloatValueSyntax => "a floating-point number",
        DateTimeValueSyntax => "a date-time",
        ArraySyntax => "an array",
        InlineTableSyntax => "a table",
        _ => "nothing",
    };

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..37] + "...";
}
