namespace Pooler.Config;

/// <summary>
/// A configuration the loader refuses. The message is one line,
/// <c>&lt;file&gt;:&lt;line&gt;: &lt;key&gt;: &lt;what is wrong and what to do&gt;</c>,
/// so that it can be printed as it is and an editor can jump to it.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string file, int line, string key, string problem)
        : base(Format(file, line, key, problem))
    {
        File = file;
        Line = line;
        Key = key;
        Problem = problem;
    }

    public ConfigException(string file, string problem, Exception inner)
        : base(OneLine($"{file}: {problem}"), inner)
    {
        File = file;
        Key = "";
        Problem = problem;
    }

    public string File { get; }

    /// <summary>1-based; 0 when the file could not be read at all.</summary>
    public int Line { get; }

    /// <summary>The dotted key path (<c>pools.app.users.0.pool_size</c>); empty when the error is not at a key.</summary>
    public string Key { get; }

    /// <summary>The message without file, line and key.</summary>
    public string Problem { get; }

    private static string Format(string file, int line, string key, string problem) =>
        OneLine(key.Length == 0 ? $"{file}:{line}: {problem}" : $"{file}:{line}: {key}: {problem}");

    // A multi-line message would break "one line on stderr"; TOML values may hold newlines.
    private static string OneLine(string text) =>
        text.Replace("\r\n", " ", StringComparison.Ordinal).Replace('\n', ' ').Replace('\r', ' ');
}
