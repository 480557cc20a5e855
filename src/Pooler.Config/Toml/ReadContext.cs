namespace Pooler.Config.Toml;

/// <summary>What every reader of one file shares: its name (for messages) and the ignored keys found so far.</summary>
internal sealed class ReadContext(string file)
{
    public string File { get; } = file;

    public List<IgnoredSetting> Ignored { get; } = [];

    public ConfigException Error(TomlNode node, string problem) => new(File, node.Line, node.Path, problem);

    public ConfigException Error(int line, string key, string problem) => new(File, line, key, problem);
}
