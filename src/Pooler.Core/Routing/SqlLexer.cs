namespace Pooler.Core.Routing;

/// <summary>What a <see cref="SqlToken"/> is, as far as routing needs to know.</summary>
internal enum SqlTokenKind
{
    /// <summary>A keyword or an unquoted identifier (letters, digits, <c>_</c>, <c>$</c>).</summary>
    Word,

    /// <summary><c>"..."</c>, with <c>""</c> for a quote inside.</summary>
    QuotedIdentifier,

    /// <summary><c>'...'</c>, with <c>''</c> for a quote inside (standard_conforming_strings on).</summary>
    String,

    /// <summary><c>E'...'</c>: a backslash escapes the next character, <c>''</c> is a quote too.</summary>
    EscapeString,

    /// <summary><c>$$...$$</c> or <c>$tag$...$tag$</c>: no escapes at all.</summary>
    DollarString,

    Number,

    /// <summary><c>$1</c>, a parameter of an extended-protocol query.</summary>
    Parameter,

    Semicolon,
    OpenParen,
    CloseParen,
    Comma,

    /// <summary>Any other single character: an operator or punctuation.</summary>
    Symbol,

    /// <summary><c>-- ...</c> up to the end of the line.</summary>
    LineComment,

    /// <summary><c>/* ... */</c>, nested as PostgreSQL nests them.</summary>
    BlockComment,

    /// <summary>
    /// Text the lexer cannot be sure of: an unterminated string, identifier, dollar quote or comment,
    /// or a <c>'...'</c> string whose end depends on standard_conforming_strings (<c>'it\'s'</c>).
    /// </summary>
    Invalid,
}

/// <summary>One token: where it is in the query text.</summary>
internal readonly record struct SqlToken(SqlTokenKind Kind, int Start, int Length)
{
    public bool IsComment => Kind is SqlTokenKind.LineComment or SqlTokenKind.BlockComment;
}

/// <summary>
/// Splits SQL text into tokens the way PostgreSQL's scanner (src/backend/parser/scan.l) finds their
/// boundaries, so that a keyword inside a string, a quoted identifier, a dollar-quoted body or a
/// comment is never seen as a keyword. It does not check the SQL: it only has to agree with
/// PostgreSQL on where each token starts and ends. A struct over the text: copy it to look ahead.
/// </summary>
internal ref struct SqlLexer(ReadOnlySpan<char> sql)
{
    private readonly ReadOnlySpan<char> _sql = sql;
    private int _position;

    public readonly ReadOnlySpan<char> Text(SqlToken token) => _sql.Slice(token.Start, token.Length);

    /// <summary>The next token that is not a comment; false at the end of the text.</summary>
    public bool NextSignificant(out SqlToken token)
    {
        while (Next(out token))
        {
            if (!token.IsComment)
                return true;
        }
        return false;
    }

    /// <summary>The next token, comments included; false at the end of the text.</summary>
    public bool Next(out SqlToken token)
    {
        SkipWhitespace();
        int start = _position;
        if (start >= _sql.Length)
        {
            token = default;
            return false;
        }
        var kind = Scan(start);
        token = new SqlToken(kind, start, _position - start);
        return true;
    }

    private SqlTokenKind Scan(int start)
    {
        char c = _sql[start];
        char next = start + 1 < _sql.Length ? _sql[start + 1] : '\0';
        switch (c)
        {
            case '-' when next == '-':
                return LineComment(start);
            case '/' when next == '*':
                return BlockComment(start);
            case '\'':
                return StandardString(start);
            case '"':
                return Quoted(start + 1, '"', backslashEscapes: false, SqlTokenKind.QuotedIdentifier);
            case 'e' or 'E' when next == '\'':
                return Quoted(start + 2, '\'', backslashEscapes: true, SqlTokenKind.EscapeString);
            case '$':
                return Dollar(start);
            case ';':
                return Single(SqlTokenKind.Semicolon);
            case '(':
                return Single(SqlTokenKind.OpenParen);
            case ')':
                return Single(SqlTokenKind.CloseParen);
            case ',':
                return Single(SqlTokenKind.Comma);
            case '.' when char.IsAsciiDigit(next):
            case >= '0' and <= '9':
                return Number(start);
        }
        if (IsIdentifierStart(c))
        {
            _position = start + 1;
            while (_position < _sql.Length && IsIdentifierPart(_sql[_position]))
                _position++;
            return SqlTokenKind.Word;
        }
        return Single(SqlTokenKind.Symbol);
    }

    private SqlTokenKind Single(SqlTokenKind kind)
    {
        _position++;
        return kind;
    }

    /// <summary>
    /// <c>12</c>, <c>1.5</c>, <c>.5</c>, <c>1e-3</c>. Letters right after a number start a new token (older
    /// PostgreSQL read <c>SELECT 1into t</c> as SELECT 1 INTO t; 15 rejects it as trailing junk), so a
    /// keyword glued to a number still counts.
    /// </summary>
    private SqlTokenKind Number(int start)
    {
        int i = SkipDigits(start);
        // "1..2" is 1 followed by "..": only one dot, and not the first of two.
        if (i < _sql.Length && _sql[i] == '.' && !(i + 1 < _sql.Length && _sql[i + 1] == '.'))
            i = SkipDigits(i + 1);
        if (i < _sql.Length && _sql[i] is 'e' or 'E')
        {
            int exponent = i + 1 < _sql.Length && _sql[i + 1] is '+' or '-' ? i + 2 : i + 1;
            if (exponent < _sql.Length && char.IsAsciiDigit(_sql[exponent]))
                i = SkipDigits(exponent);
        }
        _position = i;
        return SqlTokenKind.Number;
    }

    private readonly int SkipDigits(int i)
    {
        while (i < _sql.Length && char.IsAsciiDigit(_sql[i]))
            i++;
        return i;
    }

    private SqlTokenKind LineComment(int start)
    {
        int end = _sql[start..].IndexOfAny('\n', '\r');
        _position = end < 0 ? _sql.Length : start + end;
        return SqlTokenKind.LineComment;
    }

    /// <summary>PostgreSQL nests block comments: <c>/* a /* b */ still a comment */</c>.</summary>
    private SqlTokenKind BlockComment(int start)
    {
        int depth = 0;
        int i = start;
        while (i + 1 < _sql.Length)
        {
            if (_sql[i] == '/' && _sql[i + 1] == '*')
            {
                depth++;
                i += 2;
            }
            else if (_sql[i] == '*' && _sql[i + 1] == '/')
            {
                i += 2;
                if (--depth == 0)
                {
                    _position = i;
                    return SqlTokenKind.BlockComment;
                }
            }
            else
                i++;
        }
        _position = _sql.Length;
        return SqlTokenKind.Invalid;
    }

    /// <summary>
    /// A <c>'...'</c> string. With standard_conforming_strings on (the default since 9.1) a backslash is
    /// an ordinary character; with it off, <c>\'</c> is a quote. The server's setting is not known here,
    /// so a string that would end elsewhere under the other reading is <see cref="SqlTokenKind.Invalid"/>.
    /// </summary>
    private SqlTokenKind StandardString(int start)
    {
        var kind = Quoted(start + 1, '\'', backslashEscapes: false, SqlTokenKind.String);
        int standardEnd = _position;
        var legacy = this;
        var legacyKind = legacy.Quoted(start + 1, '\'', backslashEscapes: true, SqlTokenKind.String);
        return legacyKind == kind && legacy._position == standardEnd ? kind : SqlTokenKind.Invalid;
    }

    /// <summary>Up to the closing quote; a doubled quote is one quote character.</summary>
    private SqlTokenKind Quoted(int bodyStart, char quote, bool backslashEscapes, SqlTokenKind kind)
    {
        int i = bodyStart;
        while (i < _sql.Length)
        {
            char c = _sql[i];
            if (backslashEscapes && c == '\\')
                i += 2;
            else if (c != quote)
                i++;
            else if (i + 1 < _sql.Length && _sql[i + 1] == quote)
                i += 2;
            else
            {
                _position = i + 1;
                return kind;
            }
        }
        _position = _sql.Length;
        return SqlTokenKind.Invalid;
    }

    /// <summary><c>$1</c> (a parameter), <c>$tag$...$tag$</c> (a dollar-quoted string), or a lone <c>$</c>.</summary>
    private SqlTokenKind Dollar(int start)
    {
        int i = start + 1;
        if (i < _sql.Length && char.IsAsciiDigit(_sql[i]))
        {
            while (i < _sql.Length && char.IsAsciiDigit(_sql[i]))
                i++;
            _position = i;
            return SqlTokenKind.Parameter;
        }
        // The tag is an identifier without '$' (scan.l's dolq_start and dolq_cont).
        if (i < _sql.Length && IsIdentifierStart(_sql[i]))
        {
            while (i < _sql.Length && IsIdentifierPart(_sql[i]) && _sql[i] != '$')
                i++;
        }
        if (i >= _sql.Length || _sql[i] != '$')
            return Single(SqlTokenKind.Symbol);
        var delimiter = _sql[start..(i + 1)];
        int bodyStart = i + 1;
        int close = _sql[bodyStart..].IndexOf(delimiter);
        if (close < 0)
        {
            _position = _sql.Length;
            return SqlTokenKind.Invalid;
        }
        _position = bodyStart + close + delimiter.Length;
        return SqlTokenKind.DollarString;
    }

    private void SkipWhitespace()
    {
        while (_position < _sql.Length && IsWhitespace(_sql[_position]))
            _position++;
    }

    private static bool IsWhitespace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';

    /// <summary>PostgreSQL takes every byte with the high bit set as a letter; so do we, per UTF-16 unit.</summary>
    private static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c == '_' || c >= '\u0080';

    private static bool IsIdentifierPart(char c) => IsIdentifierStart(c) || char.IsAsciiDigit(c) || c == '$';
}
