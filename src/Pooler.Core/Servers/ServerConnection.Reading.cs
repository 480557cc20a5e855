using System.Buffers;
using System.IO.Pipelines;
using Pooler.Protocol;

namespace Pooler.Core.Servers;

public sealed partial class ServerConnection
{
    /// <summary>
    /// The one reader of the server socket. Bytes are passed on in the chunks they arrive in; a
    /// message is held back only when it must be read whole (ReadyForQuery, ParameterStatus) or
    /// when nobody holds the connection (unsolicited notices and errors).
    /// </summary>
    private async Task ReadLoopAsync()
    {
        var input = _connection.Input;
        var reason = "the server closed the connection";
        try
        {
            while (true)
            {
                var read = await input.ReadAsync();
                var buffer = read.Buffer;
                var sink = Volatile.Read(ref _sink);
                var consumed = Process(buffer, sink, out var released, out var violation);
                ValueTask<FlushResult> lastFlush = default;
                if (sink is not null)
                {
                    var flush = sink.FlushAsync(CancellationToken.None);
                    if (released == ReadyAction.ForwardAndRelease && violation is null && !flush.IsCompleted)
                    {
                        // The answer is whole and the connection idle: it goes back below, and the
                        // sink hears when its last bytes are out (on the loop, at the end of the
                        // batch) instead of this loop waiting for them.
                        lastFlush = flush;
                    }
                    else
                    {
                        // The flush is the backpressure: nothing more is read until the client has
                        // taken it. (A result marked completed means the client's socket is gone
                        // mid-answer; its session decides what happens to this connection when it notices.)
                        await flush;
                    }
                }
                input.AdvanceTo(consumed, buffer.End);
                if (violation is not null)
                {
                    reason = $"protocol violation from the server: {violation}";
                    break;
                }
                if (released != ReadyAction.Forward && sink is not null)
                {
                    Interlocked.CompareExchange(ref _sink, null, sink);
                    if (released == ReadyAction.Refuse)
                        sink.OnRefused();
                    else
                        sink.OnReleased(lastFlush);
                }
                if (read.IsCompleted && consumed.Equals(buffer.End))
                    break;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            reason = $"server connection failed: {e.Message}";
        }
        if (_closed.TrySetResult(reason))
            Volatile.Read(ref _sink)?.OnServerLost(reason);
        await _connection.DisposeAsync();
        await input.CompleteAsync();
    }

    /// <summary>
    /// Passes as much of <paramref name="buffer"/> as possible to the sink and returns how far it
    /// got. Stops after a ReadyForQuery that ends the lending, so later bytes are not sent to a
    /// client that no longer holds the connection.
    /// </summary>
    private SequencePosition Process(in ReadOnlySequence<byte> buffer, IServerSink? sink, out ReadyAction released, out string? violation)
    {
        released = ReadyAction.Forward;
        violation = null;
        var rest = buffer;
        var pending = buffer.Slice(0, 0); // contiguous pass-through bytes not yet written
        var statements = sink is not null && sink.TracksStatements;
        if (sink is not null && buffer.IsSingleSegment)
        {
            // The common case, on the span: the messages that pass through unchanged (a query's
            // rows and completion) up to the first one to look at (its ReadyForQuery).
            var passed = PassThroughLength(buffer.FirstSpan, statements ? sink : null);
            rest = buffer.Slice(passed);
            pending = buffer.Slice(0, passed);
        }
        while (!rest.IsEmpty)
        {
            if (_remaining > 0)
            {
                var take = Math.Min(_remaining, rest.Length);
                pending = buffer.Slice(pending.Start, rest.GetPosition(take));
                _remaining -= take;
                rest = rest.Slice(take);
                continue;
            }
            var status = FrameScanner.TryReadHeader(rest, _maxMessageSize, out var header);
            if (status == FrameStatus.Incomplete)
                break;
            if (status != FrameStatus.Complete)
            {
                violation = FrameScanner.Describe(status, header, _maxMessageSize);
                break;
            }
            var frameLength = header.FrameLength;
            var inspect = sink is null || header.Type is BackendMessageType.ReadyForQuery or BackendMessageType.ParameterStatus ||
                          (statements && header.Type is BackendMessageType.ParseComplete or BackendMessageType.CloseComplete);
            if (!inspect)
            {
                var available = Math.Min(frameLength, rest.Length);
                pending = buffer.Slice(pending.Start, rest.GetPosition(available));
                _remaining = frameLength - available;
                rest = rest.Slice(available);
                continue;
            }
            if (rest.Length < frameLength)
                break;
            var frame = rest.Slice(0, frameLength);
            var payload = frame.Slice(FrameScanner.HeaderLength);
            if (header.Type == BackendMessageType.ParameterStatus && Target.IsRelay && sink is not null &&
                IsRelayRelease(payload))
            {
                // Meant for this node, not the client: never forwarded.
                if (!pending.IsEmpty)
                    sink.Write(pending);
                rest = rest.Slice(frameLength);
                pending = buffer.Slice(rest.Start, 0);
                var release = sink.OnRelayRelease();
                if (release != ReadyAction.Forward)
                {
                    released = release;
                    break;
                }
                continue;
            }
            if (statements && header.Type is BackendMessageType.ParseComplete or BackendMessageType.CloseComplete)
            {
                var response = sink!.OnStatementResponse(header.Type);
                if (response != StatementResponse.Forward)
                {
                    // An answer to what Pooler sent in the client's name: dropped, or replaced in place.
                    if (!pending.IsEmpty)
                        sink.Write(pending);
                    if (response == StatementResponse.AsParseComplete)
                        sink.Write(ParseCompleteMessage);
                    else if (response == StatementResponse.AsDeallocate)
                        sink.Write(DeallocateCompleteMessage);
                    rest = rest.Slice(frameLength);
                    pending = buffer.Slice(rest.Start, 0);
                    continue;
                }
            }
            if (header.Type == BackendMessageType.ParameterStatus)
                RecordParameter(payload);
            if (sink is null)
            {
                OnUnsolicited(header.Type, payload);
                rest = rest.Slice(frameLength);
                pending = buffer.Slice(rest.Start, 0);
                continue;
            }
            var action = header.Type == BackendMessageType.ReadyForQuery
                ? sink.OnReadyForQuery(ReadyForQuery.ReadStatus(payload))
                : ReadyAction.Forward;
            if (action != ReadyAction.Refuse)
                pending = buffer.Slice(pending.Start, frame.End);
            rest = rest.Slice(frameLength);
            if (action != ReadyAction.Forward)
            {
                released = action;
                break;
            }
        }
        if (sink is not null && !pending.IsEmpty)
            sink.Write(pending);
        return rest.Start;
    }

    /// <summary>
    /// How many bytes at the start of <paramref name="span"/> belong to messages a lending passes
    /// through unchanged (the rest of one already begun, then whole or partial messages), stopping
    /// at the first header that is incomplete, invalid or of a message <see cref="Process"/> inspects.
    /// </summary>
    private int PassThroughLength(ReadOnlySpan<byte> span, IServerSink? statements)
    {
        var offset = 0;
        while (offset < span.Length)
        {
            if (_remaining > 0)
            {
                var take = (int)Math.Min(_remaining, span.Length - offset);
                _remaining -= take;
                offset += take;
                continue;
            }
            if (FrameScanner.TryReadHeader(span[offset..], _maxMessageSize, out var header) != FrameStatus.Complete ||
                header.Type is BackendMessageType.ReadyForQuery or BackendMessageType.ParameterStatus)
                break;
            // An unnamed statement's ParseComplete passes here; one Pooler must drop or replace stops the run.
            if (statements is not null && header.Type is BackendMessageType.ParseComplete or BackendMessageType.CloseComplete &&
                (span.Length - offset < header.FrameLength || !statements.TryForwardStatementResponse(header.Type)))
                break;
            _remaining = header.FrameLength;
        }
        return offset;
    }

    private static readonly ReadOnlySequence<byte> ParseCompleteMessage = new([BackendMessageType.ParseComplete, 0, 0, 0, 4]);

    /// <summary>CommandComplete "DEALLOCATE", PostgreSQL's answer to an SQL DEALLOCATE.</summary>
    private static readonly ReadOnlySequence<byte> DeallocateCompleteMessage = new(
        [BackendMessageType.CommandComplete, 0, 0, 0, 15, .. "DEALLOCATE"u8, 0]);

    private static bool IsRelayRelease(in ReadOnlySequence<byte> payload)
    {
        var parameter = ParameterStatus.Read(payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray());
        return parameter.Name == Cluster.RelayHandshake.ReleaseParameter;
    }

    private void RecordParameter(in ReadOnlySequence<byte> payload)
    {
        var parameter = ParameterStatus.Read(payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray());
        lock (_parameters)
            _parameters[parameter.Name] = parameter.Value;
        Interlocked.Increment(ref _parameterVersion);
    }

    /// <summary>A message nobody asked for arrived while the connection was idle.</summary>
    private void OnUnsolicited(byte type, in ReadOnlySequence<byte> payload)
    {
        if (type != BackendMessageType.ErrorResponse)
            return; // notices and notifications for nobody: drop them
        var error = ErrorResponse.Read(payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray());
        _closed.TrySetResult($"server sent {error.Severity} {error.SqlState}: {error.Message}");
    }
}
