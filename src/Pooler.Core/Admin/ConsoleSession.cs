using System.IO.Pipelines;
using Pooler.Core.Wire;
using Pooler.Protocol;

namespace Pooler.Core.Admin;

/// <summary>
/// One admin connection's conversation after login: simple queries here, the extended protocol's
/// statements and portals in ConsoleSession.Extended.cs.
/// </summary>
internal sealed partial class ConsoleSession(CommandRunner runner, PipeWriter output)
{
    // A long result (SHOW CLIENTS on a busy node) is flushed as it goes, so it waits on the
    // client through the pipe's backpressure instead of piling up in memory.
    private const int FlushThreshold = 64 * 1024;

    private bool _skipTillSync;
    private bool _clientGone;

    /// <summary>Handles one message from the client; false when the conversation is over.</summary>
    public async ValueTask<bool> HandleAsync(WireMessage message, CancellationToken cancellationToken)
    {
        if (message.Type == FrontendMessageType.Terminate)
            return false;

        // After an error in an extended-query batch, PostgreSQL discards messages up to the batch's
        // Sync, which then reports ReadyForQuery (protocol docs, "Extended Query").
        if (_skipTillSync && message.Type != FrontendMessageType.Sync)
            return true;

        ConsoleError? error = null;
        switch (message.Type)
        {
            case FrontendMessageType.Query:
                await OnQueryAsync(message.Payload, cancellationToken);
                break;
            case FrontendMessageType.Parse:
                error = OnParse(message.Payload);
                break;
            case FrontendMessageType.Bind:
                error = OnBind(message.Payload);
                break;
            case FrontendMessageType.Describe:
                error = OnDescribe(message.Payload);
                break;
            case FrontendMessageType.Execute:
                error = await OnExecuteAsync(message.Payload, cancellationToken);
                break;
            case FrontendMessageType.Close:
                OnClose(message.Payload);
                break;
            case FrontendMessageType.Sync:
                OnSync(message.Payload);
                await FlushAsync(cancellationToken);
                break;
            case FrontendMessageType.Flush:
                Flush.Read(message.Payload);
                await FlushAsync(cancellationToken);
                break;
            default:
                // COPY data, a function call or garbage: nothing the console takes, and no way to resync.
                string name = FrontendMessageType.NameOf(message.Type) ?? FrameScanner.TypeName(message.Type);
                ErrorResponse.Create(ErrorSeverity.Fatal, SqlState.ProtocolViolation,
                    $"unexpected {name} message on the admin console").WriteTo(output);
                await FlushAsync(cancellationToken);
                return false;
        }
        if (error is not null)
        {
            error.WriteTo(output);
            _skipTillSync = true;
        }
        return !_clientGone;
    }

    /// <summary>Runs each command of the query string in turn; the first error ends the string.</summary>
    private async ValueTask OnQueryAsync(byte[] payload, CancellationToken cancellationToken)
    {
        string sql = Query.Read(payload).Sql;

        // As in PostgreSQL, a simple query ends the implicit transaction (and its portals) and
        // replaces the unnamed statement.
        _portals.Clear();
        _statements.Remove("");

        var texts = CommandParser.Split(sql);
        if (texts.Count == 0)
            EmptyQueryResponse.Write(output);
        foreach (string text in texts)
        {
            var command = CommandParser.Parse(text);
            var result = await runner.RunAsync(command, cancellationToken);
            if (result.Error is { } error)
            {
                error.WriteTo(output);
                break;
            }
            result.Notice?.WriteTo(output);
            if (command.Columns.Count > 0)
                ResultWriter.WriteDescription(output, command.Columns, []);
            await WriteRowsAsync(command.Columns, [], result.Rows, 0, 0, cancellationToken);
            CommandComplete.Write(output, command.Tag);
        }
        ReadyForQuery.Write(output, TransactionStatus.Idle);
        await FlushAsync(cancellationToken);
    }

    /// <summary>Writes rows [<paramref name="from"/>, from + <paramref name="maxRows"/>) (0: to the end); returns where it stopped.</summary>
    private async ValueTask<int> WriteRowsAsync(IReadOnlyList<FieldDescription> columns, IReadOnlyList<FormatCode> formats,
        IReadOnlyList<object?[]> rows, int from, int maxRows, CancellationToken cancellationToken)
    {
        int end = maxRows > 0 ? (int)Math.Min(rows.Count, (long)from + maxRows) : rows.Count;
        for (int i = from; i < end && !_clientGone; i++)
        {
            ResultWriter.WriteRow(output, columns, formats, rows[i]);
            if (output.CanGetUnflushedBytes && output.UnflushedBytes >= FlushThreshold)
                await FlushAsync(cancellationToken);
        }
        return end;
    }

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        var result = await output.FlushAsync(cancellationToken);
        if (result.IsCompleted)
            _clientGone = true;
    }
}
