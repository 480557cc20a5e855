using System.Collections.Frozen;

namespace Pooler.Core.Routing;

/// <summary>The SQL words routing looks at; every other word is <see cref="None"/>.</summary>
internal enum SqlKeyword
{
    None,

    // Statements that only read.
    Select,
    Values,
    Table,
    With,
    Show,
    Explain,
    Analyze,
    Verbose,

    // Writes, and the words that turn a SELECT into one.
    Insert,
    Update,
    Delete,
    Merge,
    Into,
    For,
    Share,
    No,
    Key,

    // Transaction control.
    Begin,
    Start,
    Transaction,
    Work,
    Read,
    Only,
    Write,
    Commit,
    End,
    Rollback,
    Abort,
    Savepoint,
    Release,
    Prepared,
    To,
    And,
    Chain,

    // Pooler's own commands (PgCat's).
    Set,
    Server,
    Role,
    Sharding,
    Shard,
    Primary,
    Reads,
}

internal static class SqlKeywords
{
    private static readonly FrozenDictionary<string, SqlKeyword>.AlternateLookup<ReadOnlySpan<char>> Lookup = Build();

    /// <summary>The keyword an unquoted word is (keywords are case-insensitive), or <see cref="SqlKeyword.None"/>.</summary>
    public static SqlKeyword Of(ReadOnlySpan<char> word) =>
        Lookup.TryGetValue(word, out var keyword) ? keyword : SqlKeyword.None;

    private static FrozenDictionary<string, SqlKeyword>.AlternateLookup<ReadOnlySpan<char>> Build()
    {
        var words = new Dictionary<string, SqlKeyword>(StringComparer.OrdinalIgnoreCase);
        foreach (var keyword in Enum.GetValues<SqlKeyword>())
        {
            if (keyword != SqlKeyword.None)
                words[keyword.ToString()] = keyword;
        }
        // EXPLAIN takes the British spelling too.
        words["ANALYSE"] = SqlKeyword.Analyze;
        return words.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();
    }
}
