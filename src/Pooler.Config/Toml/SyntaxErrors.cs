using Tomlyn.Syntax;

namespace Pooler.Config.Toml;

/// <summary>Turns Tomlyn's first parse diagnostic into a <see cref="ConfigException"/>, naming the key on that line when there is one.</summary>
internal static class SyntaxErrors
{
    public static ConfigException First(DocumentSyntax document, string file)
    {
        DiagnosticMessage? first = null;
        foreach (var message in document.Diagnostics)
        {
            if (message.Kind == DiagnosticMessageKind.Error)
            {
                first = message;
                break;
            }
        }
        var line = first is null ? 1 : first.Span.Start.Line + 1;
        var text = first?.Message ?? "the file is not valid TOML";
        return new ConfigException(file, line, KeyOnLine(document, line), $"invalid TOML: {text}");
    }

    // The key helps even for a syntax error: "general.port: … expecting a value" says where to look.
    private static string KeyOnLine(DocumentSyntax document, int line)
    {
        foreach (var keyValue in document.KeyValues)
        {
            if (keyValue.Key is not null && TomlTreeBuilder.LineOf(keyValue.Key) == line)
                return Join([], keyValue.Key);
        }
        foreach (var table in document.Tables)
        {
            if (table.Name is null)
                continue;
            var prefix = TomlTreeBuilder.KeyParts(table.Name);
            if (TomlTreeBuilder.LineOf(table.Name) == line)
                return Join([], table.Name);
            foreach (var keyValue in table.Items)
            {
                if (keyValue.Key is not null && TomlTreeBuilder.LineOf(keyValue.Key) == line)
                    return Join(prefix, keyValue.Key);
            }
        }
        return "";
    }

    private static string Join(List<string> prefix, KeySyntax key)
    {
        var parts = prefix.Concat(TomlTreeBuilder.KeyParts(key)).Where(p => p.Length > 0);
        return string.Join('.', parts.Select(p => BareKeySyntax.IsBareKey(p) ? p : $"\"{p}\""));
    }
}
