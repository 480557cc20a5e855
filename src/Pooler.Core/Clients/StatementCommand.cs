using System.Text;
using Pooler.Core.Routing;

namespace Pooler.Core.Clients;

public enum StatementCommandKind
{
    /// <summary>Anything else: passed on as it is.</summary>
    Other,

    /// <summary><c>DEALLOCATE [PREPARE] name</c>.</summary>
    Deallocate,

    /// <summary><c>DEALLOCATE [PREPARE] ALL</c> or <c>DISCARD ALL</c>: the server drops every prepared statement.</summary>
    DropAll,
}

/// <summary>A simple query that concerns prepared statements, as far as the pooler must know.</summary>
public readonly record struct StatementCommand(StatementCommandKind Kind, string? Name = null)
{
    private static readonly StatementCommand Other = new(StatementCommandKind.Other);

    /// <summary>Reads a Query message's text (UTF-8, with or without its NUL).</summary>
    public static StatementCommand Read(ReadOnlySpan<byte> query)
    {
        if (!MayBeOne(query, out var start))
            return Other;
        var end = query.Length;
        while (end > start && query[end - 1] == 0)
            end--;
        return Read(Encoding.UTF8.GetString(query[start..end]));
    }

    /// <summary>
    /// False when the text (UTF-8) is certainly not DEALLOCATE or DISCARD, decided on its first
    /// byte: most queries start with SELECT, INSERT ... (a comment may hide either, so it says maybe).
    /// </summary>
    public static bool MayBeOne(ReadOnlySpan<byte> query) => MayBeOne(query, out _);

    private static bool MayBeOne(ReadOnlySpan<byte> query, out int start)
    {
        start = 0;
        while (start < query.Length && query[start] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
            start++;
        return start < query.Length && query[start] is (byte)'d' or (byte)'D' or (byte)'/' or (byte)'-';
    }

    public static StatementCommand Read(string sql)
    {
        var lexer = new SqlLexer(sql);
        if (!lexer.NextSignificant(out var first) || first.Kind != SqlTokenKind.Word)
            return Other;
        var verb = lexer.Text(first);
        if (verb.Equals("discard", StringComparison.OrdinalIgnoreCase))
            return IsWord(ref lexer, "all") && AtEnd(ref lexer) ? new StatementCommand(StatementCommandKind.DropAll) : Other;
        if (!verb.Equals("deallocate", StringComparison.OrdinalIgnoreCase) || !lexer.NextSignificant(out var target))
            return Other;
        if (target.Kind == SqlTokenKind.Word && lexer.Text(target).Equals("prepare", StringComparison.OrdinalIgnoreCase))
        {
            if (!lexer.NextSignificant(out target))
                return Other;
        }
        string name;
        if (target.Kind == SqlTokenKind.Word)
        {
            var word = lexer.Text(target);
            if (word.Equals("all", StringComparison.OrdinalIgnoreCase))
                return AtEnd(ref lexer) ? new StatementCommand(StatementCommandKind.DropAll) : Other;
            name = word.ToString().ToLowerInvariant(); // unquoted names fold to lower case, as in PostgreSQL
        }
        else if (target.Kind == SqlTokenKind.QuotedIdentifier)
            name = lexer.Text(target)[1..^1].ToString().Replace("\"\"", "\"");
        else
            return Other;
        return AtEnd(ref lexer) ? new StatementCommand(StatementCommandKind.Deallocate, name) : Other;
    }

    private static bool IsWord(ref SqlLexer lexer, string word) =>
        lexer.NextSignificant(out var token) && token.Kind == SqlTokenKind.Word &&
        lexer.Text(token).Equals(word, StringComparison.OrdinalIgnoreCase);

    /// <summary>Nothing but an optional semicolon follows: one statement, not a list.</summary>
    private static bool AtEnd(ref SqlLexer lexer)
    {
        if (!lexer.NextSignificant(out var token))
            return true;
        return token.Kind == SqlTokenKind.Semicolon && !lexer.NextSignificant(out _);
    }
}
