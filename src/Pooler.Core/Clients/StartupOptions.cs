namespace Pooler.Core.Clients;

/// <summary>
/// The <c>options</c> startup parameter (<c>-c name=value</c> pairs, as libpq's PGOPTIONS): the
/// settings in it are applied like any other client setting on each server connection.
/// </summary>
public static class StartupOptions
{
    public static void Apply(string? options, IDictionary<string, string> settings)
    {
        if (string.IsNullOrWhiteSpace(options))
            return;
        var tokens = Tokenize(options);
        for (var i = 0; i < tokens.Count; i++)
        {
            string? assignment = null;
            if (tokens[i] == "-c" && i + 1 < tokens.Count)
                assignment = tokens[++i];
            else if (tokens[i].StartsWith("-c", StringComparison.Ordinal) && tokens[i].Length > 2)
                assignment = tokens[i][2..];
            else if (tokens[i].StartsWith("--", StringComparison.Ordinal))
                assignment = tokens[i][2..];
            var equals = assignment?.IndexOf('=') ?? -1;
            if (assignment is null || equals <= 0)
                continue;
            // PostgreSQL accepts dashes for underscores in option names.
            settings[assignment[..equals].Replace('-', '_')] = assignment[(equals + 1)..];
        }
    }

    /// <summary>Splits on spaces; a backslash escapes the next character, as PostgreSQL reads options.</summary>
    private static List<string> Tokenize(string options)
    {
        var tokens = new List<string>();
        var current = new System.Text.StringBuilder();
        for (var i = 0; i < options.Length; i++)
        {
            var c = options[i];
            if (c == '\\' && i + 1 < options.Length)
            {
                current.Append(options[++i]);
            }
            else if (char.IsWhiteSpace(c))
            {
                if (current.Length > 0)
                {
                    tokens.Add(current.ToString());
                    current.Clear();
                }
            }
            else
            {
                current.Append(c);
            }
        }
        if (current.Length > 0)
            tokens.Add(current.ToString());
        return tokens;
    }
}
