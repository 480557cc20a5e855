using System.Globalization;
using Pooler.Config;

namespace Pooler.Core.Routing;

/// <summary>Where a query's leading comments ask it to go; each part null when not asked.</summary>
/// <param name="ShardingKey">The key as written; the pool's sharding function maps it to a shard.</param>
/// <param name="Shard">A shard number, not checked against the pool's shards here.</param>
public readonly record struct RoutingHints(ServerRole? Role, string? ShardingKey, int? Shard)
{
    public bool IsEmpty => Role is null && ShardingKey is null && Shard is null;
}

/// <summary>
/// Reads routing hints from the comments before a query's first token, for one query only:
/// <c>/* role: primary */ SELECT ...</c>, <c>/* sharding_key: 123 */</c>, <c>/* shard: 2 */</c>
/// (PgCat's <c>shard_id</c> too). Keys are case-insensitive; <c>=</c> may stand for <c>:</c>; a value
/// may be quoted (<c>'a b'</c>); one comment may hold several, comma-separated
/// (<c>/* shard: 2, role: replica */</c>); <c>--</c> comments count too, and a later comment wins.
/// A comment that is not entirely such pairs is an ordinary comment and ignored; so are unknown keys,
/// a role other than primary or replica, and a shard that is not a number. Comments after the
/// first token are not read.
/// </summary>
public static class RoutingComments
{
    public static RoutingHints Read(ReadOnlySpan<char> sql)
    {
        var lexer = new SqlLexer(sql);
        var hints = default(RoutingHints);
        while (lexer.Next(out var token) && token.IsComment)
        {
            var text = lexer.Text(token);
            var body = token.Kind == SqlTokenKind.BlockComment ? text[2..^2] : text[2..];
            hints = ReadPairs(body, hints);
        }
        return hints;
    }

    /// <summary>The hints with this comment's pairs applied, or unchanged when the comment is not pairs.</summary>
    private static RoutingHints ReadPairs(ReadOnlySpan<char> body, RoutingHints hints)
    {
        var result = hints;
        var rest = body.Trim();
        while (!rest.IsEmpty)
        {
            int keyLength = rest.IndexOfAnyExcept("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_");
            if (keyLength <= 0)
                return hints;
            var key = rest[..keyLength];
            rest = rest[keyLength..].TrimStart();
            if (rest.IsEmpty || rest[0] is not (':' or '='))
                return hints;
            rest = rest[1..].TrimStart();
            if (!TryReadValue(ref rest, out var value))
                return hints;
            result = Apply(key, value, result);
            rest = rest.TrimStart();
            if (rest.IsEmpty)
                break;
            if (rest[0] != ',')
                return hints;
            rest = rest[1..].TrimStart();
        }
        return result;
    }

    /// <summary><c>'quoted'</c>, <c>"quoted"</c>, or up to whitespace or a comma.</summary>
    private static bool TryReadValue(ref ReadOnlySpan<char> rest, out ReadOnlySpan<char> value)
    {
        if (!rest.IsEmpty && rest[0] is '\'' or '"')
        {
            int close = rest[1..].IndexOf(rest[0]);
            value = close < 0 ? default : rest.Slice(1, close);
            rest = close < 0 ? rest : rest[(close + 2)..];
            return close > 0;
        }
        int end = rest.IndexOfAny(" \t\r\n,");
        value = end < 0 ? rest : rest[..end];
        rest = rest[value.Length..];
        return !value.IsEmpty;
    }

    private static RoutingHints Apply(ReadOnlySpan<char> key, ReadOnlySpan<char> value, RoutingHints hints)
    {
        if (key.Equals("role", StringComparison.OrdinalIgnoreCase))
        {
            if (value.Equals("primary", StringComparison.OrdinalIgnoreCase))
                return hints with { Role = ServerRole.Primary };
            if (value.Equals("replica", StringComparison.OrdinalIgnoreCase))
                return hints with { Role = ServerRole.Replica };
        }
        else if (key.Equals("sharding_key", StringComparison.OrdinalIgnoreCase))
            return hints with { ShardingKey = value.ToString() };
        else if (key.Equals("shard", StringComparison.OrdinalIgnoreCase) || key.Equals("shard_id", StringComparison.OrdinalIgnoreCase))
        {
            if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int shard))
                return hints with { Shard = shard };
        }
        return hints;
    }
}
