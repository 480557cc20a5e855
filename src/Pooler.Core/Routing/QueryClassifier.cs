namespace Pooler.Core.Routing;

/// <summary>Where a query may run, as the read/write split sees it.</summary>
public enum QueryAccess
{
    /// <summary>Every statement only reads: the query may go to a replica.</summary>
    Read,

    /// <summary>It writes, may write, or the classifier is not sure: it goes to the primary.</summary>
    Write,
}

/// <summary>
/// Decides whether a query (the text of a simple Query, or of a Parse) may go to a replica. It is
/// conservative: a query is <see cref="QueryAccess.Read"/> only when it is sure, and
/// <see cref="QueryAccess.Write"/> otherwise. Strings, quoted identifiers, dollar quotes and comments
/// are skipped as PostgreSQL skips them (<see cref="SqlLexer"/>), so a keyword inside them never counts.
/// <para>A statement reads when it is:</para>
/// <list type="bullet">
/// <item><c>SELECT</c>, <c>VALUES</c> or <c>TABLE x</c>, also in parentheses, with no locking clause
/// (<c>FOR UPDATE</c>, <c>FOR NO KEY UPDATE</c>, <c>FOR SHARE</c>, <c>FOR KEY SHARE</c>), no
/// <c>INTO</c> (SELECT INTO creates a table), and no call of a function that writes or needs the
/// primary (<see cref="SideEffectFunctions"/>: <c>nextval(</c>, <c>pg_advisory_lock(</c> ...);</item>
/// <item><c>WITH ... SELECT</c> whose main statement and every CTE are such reads: a
/// data-modifying CTE (<c>WITH x AS (DELETE ...)</c>) makes it a write;</item>
/// <item><c>SHOW</c> anything;</item>
/// <item><c>EXPLAIN</c> (with any options, <c>ANALYZE</c> or not) of a statement that reads.
/// EXPLAIN ANALYZE runs its statement, so <c>EXPLAIN ANALYZE DELETE</c> writes; a plain
/// <c>EXPLAIN DELETE</c> is sent to the primary too, where the statement would run.</item>
/// </list>
/// <para>Anything else writes: DML, DDL, <c>SET</c>/<c>RESET</c>, <c>CALL</c>, <c>DO</c>, <c>COPY</c>,
/// <c>LOCK</c>, <c>PREPARE</c>/<c>EXECUTE</c>, cursors, <c>LISTEN</c>/<c>NOTIFY</c>, unknown commands,
/// and text the lexer cannot be sure of (an unterminated string, a <c>'...'</c> string whose end
/// depends on standard_conforming_strings).</para>
/// <para>Several statements (<c>;</c>-separated) read only if every one reads. Transaction control
/// does not decide by itself: <c>BEGIN READ ONLY</c> / <c>START TRANSACTION READ ONLY</c> read (the
/// server refuses writes in the transaction anyway); <c>COMMIT</c>, <c>ROLLBACK</c>, <c>SAVEPOINT</c>
/// and <c>RELEASE</c> are neutral; a read-write <c>BEGIN</c> is neutral only when the same query
/// closes the transaction (<c>BEGIN; SELECT 1; COMMIT</c> reads), because a transaction left open
/// goes on with statements not seen yet, which may write. A query of only neutral statements writes
/// (nothing says it may go elsewhere); an empty query (only whitespace, comments or <c>;</c>) reads.</para>
/// <para>Not seen: a function, view or rule that writes behind a SELECT (<c>SELECT my_audit_fn()</c>).
/// Such a query fails on a replica with "cannot execute ... in a read-only transaction"; clients
/// route it with <c>/* role: primary */</c> or <c>SET SERVER ROLE TO 'primary'</c>.</para>
/// </summary>
public static class QueryClassifier
{
    /// <summary>Deeper nesting than this is not worth following: write.</summary>
    private const int MaxDepth = 256;

    /// <summary>What one statement means for the query it is part of.</summary>
    private enum Statement
    {
        /// <summary>No more statements: the end of the text.</summary>
        None,

        /// <summary>Just a <c>;</c>.</summary>
        Empty,
        Read,
        Write,
        BeginReadWrite,
        BeginReadOnly,

        /// <summary>COMMIT, END, ROLLBACK, ABORT: the transaction is over.</summary>
        EndTransaction,

        /// <summary>SAVEPOINT, RELEASE, ROLLBACK TO: inside a transaction, changing nothing.</summary>
        Neutral,
    }

    public static QueryAccess Classify(ReadOnlySpan<char> sql)
    {
        var lexer = new SqlLexer(sql);
        bool anyStatement = false, anyRead = false, readWriteOpen = false;
        while (true)
        {
            var statement = ReadStatement(ref lexer);
            switch (statement)
            {
                case Statement.None:
                    if (!anyStatement)
                        return QueryAccess.Read;
                    return anyRead && !readWriteOpen ? QueryAccess.Read : QueryAccess.Write;
                case Statement.Write:
                    return QueryAccess.Write;
                case Statement.Empty:
                    continue;
                case Statement.Read or Statement.BeginReadOnly:
                    anyRead = true;
                    break;
                case Statement.BeginReadWrite:
                    readWriteOpen = true;
                    break;
                case Statement.EndTransaction:
                    readWriteOpen = false;
                    break;
            }
            anyStatement = true;
        }
    }

    /// <summary>Reads one statement, up to and including its <c>;</c>. After a write the rest is left unread.</summary>
    private static Statement ReadStatement(ref SqlLexer lexer)
    {
        var peek = lexer;
        if (!peek.NextSignificant(out var token))
            return Statement.None;
        if (token.Kind == SqlTokenKind.Semicolon)
        {
            lexer = peek;
            return Statement.Empty;
        }
        // "(SELECT 1) UNION (SELECT 2)": the verb is inside the parentheses.
        bool parenthesized = false;
        while (token.Kind == SqlTokenKind.OpenParen)
        {
            parenthesized = true;
            if (!peek.NextSignificant(out token))
                return Statement.Write;
        }
        if (token.Kind != SqlTokenKind.Word)
            return Statement.Write;
        var verb = SqlKeywords.Of(peek.Text(token));
        if (verb is SqlKeyword.Select or SqlKeyword.Values or SqlKeyword.Table or SqlKeyword.With)
            return ScanQuery(ref lexer);
        if (parenthesized)
            return Statement.Write;
        lexer = peek;
        return verb switch
        {
            SqlKeyword.Show => SkipStatement(ref lexer, Statement.Read),
            SqlKeyword.Explain => ReadExplain(ref lexer),
            SqlKeyword.Begin => ReadTransactionStart(ref lexer),
            SqlKeyword.Start => NextKeyword(ref lexer) == SqlKeyword.Transaction ? ReadTransactionStart(ref lexer) : Statement.Write,
            SqlKeyword.Commit or SqlKeyword.End or SqlKeyword.Rollback or SqlKeyword.Abort => ReadTransactionEnd(ref lexer),
            SqlKeyword.Savepoint or SqlKeyword.Release => SkipStatement(ref lexer, Statement.Neutral),
            _ => Statement.Write,
        };
    }

    /// <summary>What has been seen on one parenthesis level of a SELECT.</summary>
    [Flags]
    private enum Level : byte
    {
        /// <summary>Nothing yet: the next word may be the verb of a subquery or CTE body.</summary>
        AtStart = 1,

        /// <summary>The level starts with WITH ...</summary>
        IsWith = 2,

        /// <summary>... and its main SELECT, VALUES or TABLE has been seen.</summary>
        HasMainVerb = 4,
    }

    /// <summary>
    /// A SELECT, VALUES, TABLE or WITH statement, scanned to its end for anything that writes. Each
    /// parenthesis level may hold a statement of its own (a subquery or a CTE body): one starting
    /// with INSERT/UPDATE/DELETE/MERGE writes; one starting with WITH must reach its main SELECT.
    /// </summary>
    private static Statement ScanQuery(ref SqlLexer lexer)
    {
        Span<Level> levels = stackalloc Level[MaxDepth];
        int depth = 0;
        levels[0] = Level.AtStart;
        SqlToken previous = default;
        var previousKeyword = SqlKeyword.None;
        while (lexer.NextSignificant(out var token))
        {
            var keyword = SqlKeyword.None;
            switch (token.Kind)
            {
                case SqlTokenKind.Invalid:
                    return Statement.Write;
                case SqlTokenKind.Semicolon:
                    return depth == 0 && !LacksMainVerb(levels[0]) ? Statement.Read : Statement.Write;
                case SqlTokenKind.OpenParen:
                    if (SideEffectFunctions.IsCall(previous, lexer.Text(previous)))
                        return Statement.Write;
                    levels[depth] &= ~Level.AtStart;
                    if (++depth == MaxDepth)
                        return Statement.Write;
                    levels[depth] = Level.AtStart;
                    break;
                case SqlTokenKind.CloseParen:
                    if (depth == 0 || LacksMainVerb(levels[depth]))
                        return Statement.Write;
                    depth--;
                    break;
                case SqlTokenKind.Word:
                    keyword = SqlKeywords.Of(lexer.Text(token));
                    if (Writes(keyword, previousKeyword, ref levels[depth]))
                        return Statement.Write;
                    break;
                default:
                    levels[depth] &= ~Level.AtStart;
                    break;
            }
            previous = token;
            previousKeyword = keyword;
        }
        return depth == 0 && !LacksMainVerb(levels[0]) ? Statement.Read : Statement.Write;
    }

    /// <summary>Whether this word makes the SELECT a write, given the level it is on.</summary>
    private static bool Writes(SqlKeyword keyword, SqlKeyword previous, ref Level level)
    {
        if (keyword == SqlKeyword.Into)
            return true;
        if (previous == SqlKeyword.For && keyword is SqlKeyword.Update or SqlKeyword.Share or SqlKeyword.No or SqlKeyword.Key)
            return true;
        bool modifies = keyword is SqlKeyword.Insert or SqlKeyword.Update or SqlKeyword.Delete or SqlKeyword.Merge;
        if ((level & Level.AtStart) != 0)
        {
            level &= ~Level.AtStart;
            if (keyword == SqlKeyword.With)
                level |= Level.IsWith;
            return modifies;
        }
        if (LacksMainVerb(level))
        {
            // The first statement verb on the WITH's own level is its main statement.
            if (keyword is SqlKeyword.Select or SqlKeyword.Values or SqlKeyword.Table)
                level |= Level.HasMainVerb;
            return modifies;
        }
        return false;
    }

    private static bool LacksMainVerb(Level level) => (level & (Level.IsWith | Level.HasMainVerb)) == Level.IsWith;

    /// <summary>
    /// <c>EXPLAIN [ ( options ) ] [ ANALYZE ] [ VERBOSE ] statement</c>: as the statement it explains.
    /// </summary>
    private static Statement ReadExplain(ref SqlLexer lexer)
    {
        var peek = lexer;
        if (peek.NextSignificant(out var token) && token.Kind == SqlTokenKind.OpenParen)
        {
            lexer = peek;
            if (!SkipParenthesized(ref lexer))
                return Statement.Write;
        }
        else
        {
            peek = lexer;
            while (NextKeyword(ref peek) is SqlKeyword.Analyze or SqlKeyword.Verbose)
                lexer = peek;
        }
        var explained = ReadStatement(ref lexer);
        return explained == Statement.Read ? Statement.Read : Statement.Write;
    }

    /// <summary>After BEGIN [WORK | TRANSACTION] or START TRANSACTION: the modes, up to the <c>;</c>.</summary>
    private static Statement ReadTransactionStart(ref SqlLexer lexer)
    {
        bool readOnly = false, readWrite = false;
        var previous = SqlKeyword.None;
        while (lexer.NextSignificant(out var token) && token.Kind != SqlTokenKind.Semicolon)
        {
            if (token.Kind == SqlTokenKind.Invalid)
                return Statement.Write;
            var keyword = token.Kind == SqlTokenKind.Word ? SqlKeywords.Of(lexer.Text(token)) : SqlKeyword.None;
            if (previous == SqlKeyword.Read)
            {
                readOnly |= keyword == SqlKeyword.Only;
                readWrite |= keyword == SqlKeyword.Write;
            }
            previous = keyword;
        }
        return readOnly && !readWrite ? Statement.BeginReadOnly : Statement.BeginReadWrite;
    }

    /// <summary>
    /// After COMMIT, END, ROLLBACK or ABORT. ROLLBACK TO a savepoint keeps the transaction;
    /// COMMIT/ROLLBACK PREPARED (two-phase commit) and AND CHAIN (which opens a new transaction) write.
    /// </summary>
    private static Statement ReadTransactionEnd(ref SqlLexer lexer)
    {
        var result = Statement.EndTransaction;
        var previous = SqlKeyword.None;
        while (lexer.NextSignificant(out var token) && token.Kind != SqlTokenKind.Semicolon)
        {
            if (token.Kind == SqlTokenKind.Invalid)
                return Statement.Write;
            var keyword = token.Kind == SqlTokenKind.Word ? SqlKeywords.Of(lexer.Text(token)) : SqlKeyword.None;
            if (keyword == SqlKeyword.Prepared || (previous == SqlKeyword.And && keyword == SqlKeyword.Chain))
                return Statement.Write;
            if (keyword == SqlKeyword.To)
                result = Statement.Neutral;
            previous = keyword;
        }
        return result;
    }

    /// <summary>Skips to the end of the statement; still a write if the rest cannot be lexed.</summary>
    private static Statement SkipStatement(ref SqlLexer lexer, Statement result)
    {
        while (lexer.NextSignificant(out var token) && token.Kind != SqlTokenKind.Semicolon)
        {
            if (token.Kind == SqlTokenKind.Invalid)
                return Statement.Write;
        }
        return result;
    }

    /// <summary>Skips a balanced <c>( ... )</c> whose opening parenthesis was just read.</summary>
    private static bool SkipParenthesized(ref SqlLexer lexer)
    {
        int depth = 1;
        while (lexer.NextSignificant(out var token))
        {
            switch (token.Kind)
            {
                case SqlTokenKind.Invalid or SqlTokenKind.Semicolon:
                    return false;
                case SqlTokenKind.OpenParen:
                    depth++;
                    break;
                case SqlTokenKind.CloseParen when --depth == 0:
                    return true;
            }
        }
        return false;
    }

    private static SqlKeyword NextKeyword(ref SqlLexer lexer) =>
        lexer.NextSignificant(out var token) && token.Kind == SqlTokenKind.Word
            ? SqlKeywords.Of(lexer.Text(token))
            : SqlKeyword.None;
}
