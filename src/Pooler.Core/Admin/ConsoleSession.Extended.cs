using Pooler.Protocol;

namespace Pooler.Core.Admin;

// The extended query protocol, which Npgsql always uses: Parse, Bind, Describe, Execute, Close,
// Sync. Statements hold parsed commands; a portal runs its command at its first Execute and keeps
// the result, so an Execute with a row limit resumes it and nothing runs twice.
internal sealed partial class ConsoleSession
{
    // SQLSTATEs PostgreSQL uses for these mistakes.
    private const string DuplicatePreparedStatement = "42P05";
    private const string DuplicateCursor = "42P03";
    private const string SyntaxError = "42601";
    private const string InvalidStatementName = "26000";
    private const string InvalidCursorName = "34000";

    private readonly Dictionary<string, ConsoleCommand> _statements = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Portal> _portals = new(StringComparer.Ordinal);

    private sealed class Portal(ConsoleCommand command, IReadOnlyList<FormatCode> formats)
    {
        public ConsoleCommand Command { get; } = command;
        public IReadOnlyList<FormatCode> Formats { get; } = formats;
        public CommandResult? Result { get; set; }
        public int RowsSent { get; set; }
    }

    private ConsoleError? OnParse(byte[] payload)
    {
        var parse = Parse.Read(payload);
        if (parse.StatementName.Length > 0 && _statements.ContainsKey(parse.StatementName))
            return new ConsoleError(DuplicatePreparedStatement, $"prepared statement \"{parse.StatementName}\" already exists");
        var texts = CommandParser.Split(parse.Sql);
        if (texts.Count > 1)
            return new ConsoleError(SyntaxError, "cannot insert multiple commands into a prepared statement");

        // Unknown text fails here, as a syntax error fails PostgreSQL's Parse.
        var command = texts.Count == 0 ? new EmptyCommand() : CommandParser.Parse(texts[0]);
        if (command is InvalidCommand invalid)
            return invalid.Error;
        _statements[parse.StatementName] = command;
        ParseComplete.Write(output);
        return null;
    }

    private ConsoleError? OnBind(byte[] payload)
    {
        var bind = Bind.Read(payload);
        if (!_statements.TryGetValue(bind.Statement, out var command))
            return NoStatement(bind.Statement);
        if (bind.Parameters.Count > 0)
        {
            return new ConsoleError(SqlState.ProtocolViolation,
                $"bind message supplies {bind.Parameters.Count} parameters, but prepared statement \"{bind.Statement}\" requires 0");
        }
        if (bind.ResultFormats.Count > 1 && bind.ResultFormats.Count != command.Columns.Count)
        {
            return new ConsoleError(SqlState.ProtocolViolation,
                $"bind message has {bind.ResultFormats.Count} result formats but query has {command.Columns.Count} columns");
        }
        if (bind.Portal.Length > 0 && _portals.ContainsKey(bind.Portal))
            return new ConsoleError(DuplicateCursor, $"cursor \"{bind.Portal}\" already exists");
        _portals[bind.Portal] = new Portal(command, bind.ResultFormats);
        BindComplete.Write(output);
        return null;
    }

    /// <summary>Columns come from the command's text, so describing runs nothing.</summary>
    private ConsoleError? OnDescribe(byte[] payload)
    {
        var describe = Describe.Read(payload);
        if (describe.Kind == StatementOrPortal.Statement)
        {
            if (!_statements.TryGetValue(describe.Name, out var command))
                return NoStatement(describe.Name);
            new ParameterDescription([]).WriteTo(output);
            ResultWriter.WriteDescription(output, command.Columns, []); // formats are not chosen before Bind: text
            return null;
        }
        if (!_portals.TryGetValue(describe.Name, out var portal))
            return NoPortal(describe.Name);
        ResultWriter.WriteDescription(output, portal.Command.Columns, portal.Formats);
        return null;
    }

    private async ValueTask<ConsoleError?> OnExecuteAsync(byte[] payload, CancellationToken cancellationToken)
    {
        var execute = Execute.Read(payload);
        if (!_portals.TryGetValue(execute.Portal, out var portal))
            return NoPortal(execute.Portal);
        if (portal.Result is null)
        {
            portal.Result = await runner.RunAsync(portal.Command, cancellationToken);
            portal.Result.Notice?.WriteTo(output);
        }
        if (portal.Result.Error is { } error)
            return error;

        var rows = portal.Result.Rows;
        portal.RowsSent = await WriteRowsAsync(portal.Command.Columns, portal.Formats, rows, portal.RowsSent,
            execute.MaxRows, cancellationToken);
        if (portal.RowsSent < rows.Count)
            PortalSuspended.Write(output);
        else if (portal.Command is EmptyCommand)
            EmptyQueryResponse.Write(output);
        else
            CommandComplete.Write(output, portal.Command.Tag);
        return null;
    }

    private void OnClose(byte[] payload)
    {
        // Closing what does not exist is no error (PostgreSQL's rule too).
        var close = Close.Read(payload);
        if (close.Kind == StatementOrPortal.Statement)
            _statements.Remove(close.Name);
        else
            _portals.Remove(close.Name);
        CloseComplete.Write(output);
    }

    private void OnSync(byte[] payload)
    {
        Sync.Read(payload);
        _skipTillSync = false;
        // Sync ends the implicit transaction, and portals do not outlive it in PostgreSQL.
        _portals.Clear();
        ReadyForQuery.Write(output, TransactionStatus.Idle);
    }

    private static ConsoleError NoStatement(string name) =>
        new(InvalidStatementName, $"prepared statement \"{name}\" does not exist");

    private static ConsoleError NoPortal(string name) =>
        new(InvalidCursorName, $"portal \"{name}\" does not exist");
}
