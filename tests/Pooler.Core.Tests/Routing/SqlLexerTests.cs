using Pooler.Core.Routing;
using Xunit;

namespace Pooler.Core.Tests.Routing;

/// <summary>Tokens end where PostgreSQL's scanner ends them.</summary>
public sealed class SqlLexerTests
{
    private static List<(SqlTokenKind Kind, string Text)> Tokens(string sql)
    {
        var tokens = new List<(SqlTokenKind, string)>();
        var lexer = new SqlLexer(sql);
        while (lexer.Next(out var token))
            tokens.Add((token.Kind, lexer.Text(token).ToString()));
        return tokens;
    }

    [Fact]
    public void A_query_splits_into_words_symbols_and_literals()
    {
        Assert.Equal(
            [
                (SqlTokenKind.Word, "SELECT"), (SqlTokenKind.Word, "a$1"), (SqlTokenKind.Comma, ","),
                (SqlTokenKind.Number, "1.5"), (SqlTokenKind.Symbol, ":"), (SqlTokenKind.Symbol, ":"),
                (SqlTokenKind.Word, "int"), (SqlTokenKind.OpenParen, "("), (SqlTokenKind.Parameter, "$12"),
                (SqlTokenKind.CloseParen, ")"), (SqlTokenKind.Semicolon, ";"),
            ],
            Tokens("SELECT a$1, 1.5::int($12);"));
    }

    [Theory]
    [InlineData("'it''s'", nameof(SqlTokenKind.String))]
    [InlineData("E'it\\'s'", nameof(SqlTokenKind.EscapeString))]
    [InlineData("e'a''b\\\\'", nameof(SqlTokenKind.EscapeString))]
    [InlineData("\"My \"\"table\"\"\"", nameof(SqlTokenKind.QuotedIdentifier))]
    [InlineData("$$a ' \" -- /* b$$", nameof(SqlTokenKind.DollarString))]
    [InlineData("$fn$ $$ $f$ $fn$", nameof(SqlTokenKind.DollarString))]
    [InlineData("/* a /* b */ c */", nameof(SqlTokenKind.BlockComment))]
    [InlineData("-- to the end", nameof(SqlTokenKind.LineComment))]
    public void Literals_and_comments_are_one_token(string sql, string kind)
    {
        var token = Assert.Single(Tokens(sql));
        Assert.Equal((Enum.Parse<SqlTokenKind>(kind), sql), token);
    }

    [Fact]
    public void A_number_ends_where_its_digits_end() =>
        Assert.Equal(
            [
                (SqlTokenKind.Number, "1.5e-3"), (SqlTokenKind.Word, "into"), (SqlTokenKind.Number, "1"),
                (SqlTokenKind.Symbol, "."), (SqlTokenKind.Number, ".2"), (SqlTokenKind.Number, "7"), (SqlTokenKind.Word, "e"),
            ],
            Tokens("1.5e-3into 1..2 7e"));

    [Fact]
    public void A_line_comment_ends_at_the_newline() =>
        Assert.Equal([(SqlTokenKind.LineComment, "-- x"), (SqlTokenKind.Word, "y")], Tokens("-- x\ny"));

    [Fact]
    public void An_operator_stops_where_a_comment_starts() =>
        Assert.Equal([(SqlTokenKind.Symbol, "+"), (SqlTokenKind.LineComment, "--x")], Tokens("+--x"));

    [Fact]
    public void A_word_ending_in_e_before_a_quote_is_not_an_escape_string() =>
        Assert.Equal([(SqlTokenKind.Word, "somee"), (SqlTokenKind.String, "'x'")], Tokens("somee'x'"));

    [Theory]
    [InlineData("'open")]
    [InlineData("E'open\\'")]
    [InlineData("\"open")]
    [InlineData("$tag$ open $tog$")]
    [InlineData("/* open /* */")]
    [InlineData("'a\\'")]
    public void Unterminated_or_ambiguous_text_is_invalid(string sql) =>
        Assert.Equal(SqlTokenKind.Invalid, Tokens(sql)[^1].Kind);

    [Fact]
    public void A_dollar_without_a_closing_dollar_is_a_symbol() =>
        Assert.Equal([(SqlTokenKind.Symbol, "$"), (SqlTokenKind.Word, "x")], Tokens("$x"));
}
