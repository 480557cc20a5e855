using System.Globalization;
using Pooler.Protocol;

namespace Pooler.Core.Routing;

/// <summary>
/// Recognises PgCat's routing commands in a simple Query: <c>SET SERVER ROLE</c>, <c>SET SHARDING KEY</c>,
/// <c>SET SHARD</c>, <c>SET PRIMARY READS</c> and their <c>SHOW</c>s. Words are case-insensitive;
/// <c>=</c> may stand for <c>TO</c>; a value may be quoted (<c>'primary'</c>, <c>''</c> for a quote)
/// or not; comments and a trailing <c>;</c> are allowed. The command must be the whole query.
/// Anything else, <c>SET search_path ...</c> included, is not a routing command (null): it goes to
/// the server.
/// </summary>
public static class RoutingCommandParser
{
    public static RoutingCommand? Parse(ReadOnlySpan<char> sql)
    {
        var lexer = new SqlLexer(sql);
        return NextKeyword(ref lexer) switch
        {
            SqlKeyword.Set => ParseSet(ref lexer),
            SqlKeyword.Show => ParseShow(ref lexer),
            _ => null,
        };
    }

    private static RoutingCommand? ParseSet(ref SqlLexer lexer)
    {
        switch (NextKeyword(ref lexer))
        {
            case SqlKeyword.Server when NextKeyword(ref lexer) == SqlKeyword.Role:
                return ParseAssignment(ref lexer, "SET SERVER ROLE TO '<role>'", ServerRole);
            case SqlKeyword.Sharding when NextKeyword(ref lexer) == SqlKeyword.Key:
                return ParseAssignment(ref lexer, "SET SHARDING KEY TO '<key>'", ShardingKey);
            case SqlKeyword.Shard:
                return ParseAssignment(ref lexer, "SET SHARD TO '<n>'", Shard);
            case SqlKeyword.Primary when NextKeyword(ref lexer) == SqlKeyword.Reads:
                return ParseAssignment(ref lexer, "SET PRIMARY READS TO 'on'", PrimaryReads);
            default:
                return null;
        }
    }

    private static RoutingCommand? ParseShow(ref SqlLexer lexer)
    {
        switch (NextKeyword(ref lexer))
        {
            case SqlKeyword.Server when NextKeyword(ref lexer) == SqlKeyword.Role:
                return AtEndOfQuery(ref lexer) ? ShowServerRole.Instance : Syntax("SHOW SERVER ROLE");
            case SqlKeyword.Shard:
                return AtEndOfQuery(ref lexer) ? ShowShard.Instance : Syntax("SHOW SHARD");
            case SqlKeyword.Primary when NextKeyword(ref lexer) == SqlKeyword.Reads:
                return AtEndOfQuery(ref lexer) ? ShowPrimaryReads.Instance : Syntax("SHOW PRIMARY READS");
            default:
                return null;
        }
    }

    /// <summary><c>TO value</c> or <c>= value</c>, then the end of the query.</summary>
    private static RoutingCommand ParseAssignment(ref SqlLexer lexer, string usage, Func<string, RoutingCommand> build)
    {
        if (!lexer.NextSignificant(out var token) || !IsToOrEquals(token, lexer.Text(token)))
            return Syntax(usage);
        var value = ReadValue(ref lexer);
        if (value is null || !AtEndOfQuery(ref lexer))
            return Syntax(usage);
        return build(value);
    }

    private static bool IsToOrEquals(SqlToken token, ReadOnlySpan<char> text) => token.Kind switch
    {
        SqlTokenKind.Word => SqlKeywords.Of(text) == SqlKeyword.To,
        SqlTokenKind.Symbol => text is "=",
        _ => false,
    };

    private static RoutingCommand ServerRole(string value) => value.ToLowerInvariant() switch
    {
        "primary" => new SetServerRole(ServerRoleSetting.Primary),
        "replica" => new SetServerRole(ServerRoleSetting.Replica),
        "any" => new SetServerRole(ServerRoleSetting.Any),
        "auto" => new SetServerRole(ServerRoleSetting.Auto),
        "default" => new SetServerRole(ServerRoleSetting.Default),
        _ => BadValue($"SET SERVER ROLE takes primary, replica, any, auto or default, not \"{value}\""),
    };

    private static RoutingCommand ShardingKey(string value) =>
        value.Length > 0 ? new SetShardingKey(value) : BadValue("SET SHARDING KEY needs a key");

    private static RoutingCommand Shard(string value)
    {
        if (value.Equals("any", StringComparison.OrdinalIgnoreCase))
            return new SetShard(null);
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            return new SetShard(index);
        return BadValue($"SET SHARD takes a shard number or any, not \"{value}\"");
    }

    private static RoutingCommand PrimaryReads(string value) => value.ToLowerInvariant() switch
    {
        "on" => new SetPrimaryReads(PrimaryReadsSetting.On),
        "off" => new SetPrimaryReads(PrimaryReadsSetting.Off),
        "default" => new SetPrimaryReads(PrimaryReadsSetting.Default),
        _ => BadValue($"SET PRIMARY READS takes on, off or default, not \"{value}\""),
    };

    /// <summary>A quoted string (unquoted), a word, or a number with an optional sign; null for anything else.</summary>
    private static string? ReadValue(ref SqlLexer lexer)
    {
        if (!lexer.NextSignificant(out var token))
            return null;
        var text = lexer.Text(token);
        switch (token.Kind)
        {
            case SqlTokenKind.String:
                return text[1..^1].ToString().Replace("''", "'");
            case SqlTokenKind.Word or SqlTokenKind.Number:
                return text.ToString();
            case SqlTokenKind.Symbol when text is "-" or "+":
                var peek = lexer;
                if (peek.NextSignificant(out var number) && number.Kind == SqlTokenKind.Number && number.Start == token.Start + 1)
                {
                    lexer = peek;
                    return string.Concat(text, peek.Text(number));
                }
                return null;
            default:
                return null;
        }
    }

    /// <summary>Nothing but an optional <c>;</c> (and comments) left.</summary>
    private static bool AtEndOfQuery(ref SqlLexer lexer)
    {
        if (!lexer.NextSignificant(out var token))
            return true;
        return token.Kind == SqlTokenKind.Semicolon && !lexer.NextSignificant(out _);
    }

    private static SqlKeyword NextKeyword(ref SqlLexer lexer) =>
        lexer.NextSignificant(out var token) && token.Kind == SqlTokenKind.Word
            ? SqlKeywords.Of(lexer.Text(token))
            : SqlKeyword.None;

    private static InvalidRoutingCommand Syntax(string usage) =>
        new(SqlState.SyntaxError, $"syntax error: Pooler takes {usage} alone in a query");

    private static InvalidRoutingCommand BadValue(string message) => new(SqlState.InvalidParameterValue, message);
}
