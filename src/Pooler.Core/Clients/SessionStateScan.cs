using System.Buffers;
using System.Text;
using Pooler.Core.Routing;

namespace Pooler.Core.Clients;

/// <summary>
/// What a statement sent in transaction or statement mode does to the server session beyond its
/// transaction. <see cref="PinReason"/>: it creates state that lives on the server connection
/// (LISTEN, SQL PREPARE, a temporary table, a WITH HOLD cursor, a session-level advisory lock), so
/// the client keeps that connection until it disconnects. <see cref="SearchPath"/>: a session
/// <c>SET search_path</c> (PostgreSQL does not report it, so the pooler reads it from the
/// statement), to be given to the client's next server connections.
/// </summary>
public readonly record struct SessionStateScan(string? PinReason, SearchPathChange SearchPath, string? SearchPathValue)
{
    private static readonly SearchValues<string> Markers = SearchValues.Create(
        ["listen", "prepare", "temp", "hold", "advisory", "search_path", "reset", "discard"], StringComparison.OrdinalIgnoreCase);

    public static readonly SessionStateScan None = new(null, SearchPathChange.None, null);

    public bool IsNone => PinReason is null && SearchPath == SearchPathChange.None;

    /// <summary>Scans SQL text (UTF-8, a trailing NUL allowed); a quick search first, the lexer only on a hit.</summary>
    public static SessionStateScan Read(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > 0 && utf8[^1] == 0)
            utf8 = utf8[..^1];
        char[]? rented = null;
        var chars = utf8.Length <= 1024 ? stackalloc char[utf8.Length] : (rented = ArrayPool<char>.Shared.Rent(utf8.Length));
        try
        {
            var length = Encoding.UTF8.GetChars(utf8, chars);
            var sql = chars[..length];
            return sql.IndexOfAny(Markers) < 0 ? None : Read(sql);
        }
        finally
        {
            if (rented is not null)
                ArrayPool<char>.Shared.Return(rented);
        }
    }

    public static SessionStateScan Read(ReadOnlySpan<char> sql)
    {
        var lexer = new SqlLexer(sql);
        string? pin = null;
        var searchPath = SearchPathChange.None;
        string? value = null;
        var position = 0;          // token index within the current statement
        string? statementPin = null; // a CREATE TEMP's pin, withdrawn by ON COMMIT DROP
        var first = "";
        var previous = "";
        var beforePrevious = "";
        while (lexer.NextSignificant(out var token))
        {
            if (token.Kind == SqlTokenKind.Semicolon)
            {
                pin ??= statementPin;
                statementPin = null;
                position = 0;
                first = previous = beforePrevious = "";
                continue;
            }
            var word = token.Kind == SqlTokenKind.Word ? lexer.Text(token).ToString().ToLowerInvariant() : "";
            if (position == 0)
                first = word;
            switch (first)
            {
                case "listen" when position == 0:
                    pin ??= "LISTEN";
                    break;
                case "prepare" when position == 1 && word != "transaction":
                    pin ??= "PREPARE";
                    break;
                case "create" when position is 1 or 2 && word is "temp" or "temporary":
                    statementPin = "a temporary table";
                    break;
                case "create" when word == "drop" && previous == "commit" && beforePrevious == "on":
                    statementPin = null; // ON COMMIT DROP: gone with the transaction
                    break;
                case "declare" when word == "hold" && previous == "with":
                    pin ??= "a WITH HOLD cursor";
                    break;
                case "set" when position == 1 && word == "search_path" || position == 2 && word == "search_path" && previous == "session":
                    (searchPath, value) = ReadSearchPath(ref lexer, sql);
                    position = -1;
                    break;
                case "reset" when position == 1 && word is "search_path" or "all":
                case "discard" when position == 1 && word == "all":
                    searchPath = SearchPathChange.Reset;
                    value = null;
                    break;
            }
            if (word is "pg_advisory_lock" or "pg_advisory_lock_shared" or "pg_try_advisory_lock" or "pg_try_advisory_lock_shared")
                pin ??= "a session-level advisory lock";
            beforePrevious = previous;
            previous = word;
            position++;
        }
        pin ??= statementPin;
        return new SessionStateScan(pin, searchPath, value);
    }

    /// <summary>After <c>SET [SESSION] search_path</c>: <c>TO|=</c> then the list (or DEFAULT), up to the statement's end.</summary>
    private static (SearchPathChange, string?) ReadSearchPath(ref SqlLexer lexer, ReadOnlySpan<char> sql)
    {
        if (!lexer.NextSignificant(out var to) ||
            !(to.Kind == SqlTokenKind.Word && lexer.Text(to).Equals("to", StringComparison.OrdinalIgnoreCase) ||
              to.Kind == SqlTokenKind.Symbol && lexer.Text(to) is "="))
            return (SearchPathChange.None, null);
        var value = new StringBuilder();
        var items = 0;
        var probe = lexer;
        while (probe.NextSignificant(out var token) && token.Kind != SqlTokenKind.Semicolon)
        {
            lexer = probe;
            var text = lexer.Text(token);
            switch (token.Kind)
            {
                case SqlTokenKind.Comma:
                    value.Append(", ");
                    break;
                case SqlTokenKind.String:
                    value.Append(text[1..^1].ToString().Replace("''", "'"));
                    items++;
                    break;
                case SqlTokenKind.Word when items == 0 && text.Equals("default", StringComparison.OrdinalIgnoreCase):
                    return (SearchPathChange.Reset, null);
                case SqlTokenKind.Word or SqlTokenKind.QuotedIdentifier:
                    value.Append(text);
                    items++;
                    break;
                default:
                    return (SearchPathChange.None, null); // not a plain list: leave it to the server
            }
        }
        return items == 0 ? (SearchPathChange.None, null) : (SearchPathChange.Set, value.ToString());
    }
}

public enum SearchPathChange
{
    None,
    Set,

    /// <summary>RESET search_path, SET search_path TO DEFAULT, RESET ALL, DISCARD ALL.</summary>
    Reset,
}
