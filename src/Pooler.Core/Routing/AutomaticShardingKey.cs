namespace Pooler.Core.Routing;

/// <summary>
/// <c>automatic_sharding_key = "table.column"</c>: the sharding key of a query that compares that
/// column with a literal (<c>WHERE id = 42</c>, <c>WHERE items.id = '42'</c>, <c>id = 42 AND …</c>).
/// Conservative: the column must be bare or qualified with the configured table's name; the
/// comparison must be <c>column = literal</c> with a number or a string. Several different values,
/// a comparison with a parameter, or none give no key (the query goes to default_shard).
/// </summary>
public static class AutomaticShardingKey
{
    public static string? Find(ReadOnlySpan<char> sql, string tableColumn)
    {
        var dot = tableColumn.IndexOf('.');
        var table = dot < 0 ? null : tableColumn[..dot];
        var column = dot < 0 ? tableColumn : tableColumn[(dot + 1)..];
        var lexer = new SqlLexer(sql);
        string? key = null;
        // The significant tokens before the current one, nearest first.
        Span<SqlToken> before = stackalloc SqlToken[4];
        var count = 0;
        while (lexer.NextSignificant(out var token))
        {
            if (count >= 2 && Is(lexer, before[0], SqlTokenKind.Symbol, "=") && IsColumn(lexer, before, count, table, column))
            {
                if (token.Kind == SqlTokenKind.Parameter)
                    return null; // the value is in the Bind, not in the text
                var sign = "";
                if (Is(lexer, token, SqlTokenKind.Symbol, "-"))
                {
                    // A negative number: "-" then the digits.
                    var ahead = lexer;
                    if (ahead.NextSignificant(out var digits) && digits.Kind == SqlTokenKind.Number)
                    {
                        lexer = ahead;
                        token = digits;
                        sign = "-";
                    }
                }
                if (token.Kind is SqlTokenKind.Number or SqlTokenKind.String)
                {
                    var text = lexer.Text(token);
                    var value = token.Kind == SqlTokenKind.String ? text[1..^1].ToString().Replace("''", "'") : sign + text.ToString();
                    if (key is not null && key != value)
                        return null; // two different keys: no single shard
                    key = value;
                }
            }
            before[3] = before[2];
            before[2] = before[1];
            before[1] = before[0];
            before[0] = token;
            count++;
        }
        return key;
    }

    /// <summary>before[1] is the column: bare, or after "table." when the table is named (before[2] the dot, before[3] the table).</summary>
    private static bool IsColumn(SqlLexer lexer, ReadOnlySpan<SqlToken> before, int count, string? table, string column)
    {
        if (!IsName(lexer, before[1], column))
            return false;
        if (count >= 3 && Is(lexer, before[2], SqlTokenKind.Symbol, "."))
            return table is not null && count >= 4 && IsName(lexer, before[3], table);
        return true;
    }

    private static bool Is(SqlLexer lexer, SqlToken token, SqlTokenKind kind, string text) =>
        token.Kind == kind && lexer.Text(token).SequenceEqual(text);

    private static bool IsName(SqlLexer lexer, SqlToken token, string name) => token.Kind switch
    {
        SqlTokenKind.Word => lexer.Text(token).Equals(name, StringComparison.OrdinalIgnoreCase),
        SqlTokenKind.QuotedIdentifier => lexer.Text(token)[1..^1].SequenceEqual(name),
        _ => false,
    };
}
