using System.Text;
using Pooler.Protocol;

namespace Pooler.Core.Admin;

/// <summary>
/// Turns console text into <see cref="ConsoleCommand"/>s. Command words are case-insensitive;
/// database names are not (pool names are case-sensitive, as in PostgreSQL) and may be quoted.
/// </summary>
internal static class CommandParser
{
    private static readonly Dictionary<string, ShowTable> Tables = new(StringComparer.OrdinalIgnoreCase)
    {
        ["POOLS"] = ShowTable.Pools,
        ["STATS"] = ShowTable.Stats,
        ["STATS_TOTALS"] = ShowTable.StatsTotals,
        ["STATS_AVERAGES"] = ShowTable.StatsAverages,
        ["CLIENTS"] = ShowTable.Clients,
        ["SERVERS"] = ShowTable.Servers,
        ["BANS"] = ShowTable.Bans,
        ["DATABASES"] = ShowTable.Databases,
        ["USERS"] = ShowTable.Users,
        ["CONFIG"] = ShowTable.Config,
        ["LISTS"] = ShowTable.Lists,
        ["VERSION"] = ShowTable.Version,
        ["NODES"] = ShowTable.Nodes,
        ["POOL_PLACEMENT"] = ShowTable.PoolPlacement,
    };

    /// <summary>
    /// The commands of a query string: split at ';' outside quotes, trimmed, empty ones dropped
    /// (so "SHOW POOLS;" is one command and ";" none).
    /// </summary>
    public static List<string> Split(string sql)
    {
        var commands = new List<string>();
        int start = 0;
        char quote = '\0';
        for (int i = 0; i < sql.Length; i++)
        {
            char c = sql[i];
            if (quote != '\0')
            {
                if (c == quote)
                    quote = '\0';
            }
            else if (c is '\'' or '"')
                quote = c;
            else if (c == ';')
            {
                Add(commands, sql[start..i]);
                start = i + 1;
            }
        }
        Add(commands, sql[start..]);
        return commands;

        static void Add(List<string> commands, string text)
        {
            text = text.Trim();
            if (text.Length > 0)
                commands.Add(text);
        }
    }

    /// <summary>Parses one command (no ';'); never fails: bad text becomes an <see cref="InvalidCommand"/>.</summary>
    public static ConsoleCommand Parse(string text)
    {
        var words = Words(text);
        if (words.Count == 0)
            return new EmptyCommand();
        string verb = words[0].ToUpperInvariant();
        return verb switch
        {
            "SHOW" => ParseShow(text, words),
            "PAUSE" => Pool(text, words, AdminCommand.Pause, required: false),
            "RESUME" => Pool(text, words, AdminCommand.Resume, required: false),
            "RECONNECT" => Pool(text, words, AdminCommand.Reconnect, required: false),
            "KILL" => Pool(text, words, AdminCommand.Kill, required: true),
            "DISABLE" => Pool(text, words, AdminCommand.Disable, required: true),
            "ENABLE" => Pool(text, words, AdminCommand.Enable, required: true),
            "RELOAD" => ParseReload(text, words),
            "SHUTDOWN" when words.Count == 1 => new BackendCommand(AdminCommand.Shutdown, null, "SHUTDOWN"),
            "SET" => new SetCommand(),
            _ => Invalid(text),
        };
    }

    private static ConsoleCommand ParseShow(string text, List<string> words)
    {
        bool cluster = words.Count == 3 && words[1].Equals("CLUSTER", StringComparison.OrdinalIgnoreCase);
        if (words.Count == 2 && words[1].Equals("HELP", StringComparison.OrdinalIgnoreCase))
            return new ShowHelpCommand();
        if (words.Count != 2 && !cluster)
            return Invalid(text);
        if (!Tables.TryGetValue(words[^1], out var table) || (cluster && !AdminTables.HasClusterVariant(table)))
            return Invalid(text);
        return new ShowCommand(table, cluster);
    }

    private static ConsoleCommand ParseReload(string text, List<string> words) => words.Count switch
    {
        1 => new BackendCommand(AdminCommand.Reload, null, "RELOAD"),
        2 when words[1].Equals("CLUSTER", StringComparison.OrdinalIgnoreCase) =>
            new BackendCommand(AdminCommand.ReloadCluster, null, "RELOAD"),
        _ => Invalid(text),
    };

    private static ConsoleCommand Pool(string text, List<string> words, AdminCommand command, bool required)
    {
        string verb = words[0].ToUpperInvariant();
        if (words.Count > 2)
            return Invalid(text);
        if (words.Count == 1 && required)
        {
            // Acting on every pool at once is too much for these; PgBouncer refuses them too.
            return new InvalidCommand(new ConsoleError(SqlState.SyntaxError,
                $"{verb} needs a database name: {verb} <db>;"));
        }
        return new BackendCommand(command, words.Count == 2 ? words[1] : null, verb);
    }

    private static InvalidCommand Invalid(string text) => new(new ConsoleError(SqlState.SyntaxError,
        $"invalid command '{text}', use SHOW HELP;",
        "The admin console runs PgBouncer's console commands (SHOW POOLS, PAUSE <db> ...), not SQL."));

    /// <summary>Whitespace-separated words; a "double-quoted" word keeps its spaces and loses its quotes ("" is a quote).</summary>
    private static List<string> Words(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        bool quoted = false, inWord = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c != '"')
                    word.Append(c);
                else if (i + 1 < text.Length && text[i + 1] == '"')
                    word.Append(text[++i]);
                else
                    quoted = false;
            }
            else if (c == '"')
                (quoted, inWord) = (true, true);
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                    words.Add(word.ToString());
                word.Clear();
                inWord = false;
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }
        if (inWord)
            words.Add(word.ToString());
        return words;
    }
}
