using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Logging;
using Pooler.Config;
using Pooler.Core.Servers;
using Pooler.Protocol;

namespace Pooler.Core.Clients;

/// <summary>
/// Named prepared statements in transaction and statement mode. A client's next transaction may
/// run on another server connection, where its statements do not exist; so the session keeps each
/// client statement (its Parse), gives it a server name derived from its text, and on whichever
/// connection it holds prepares what is missing before passing on a Bind or Describe that uses it.
/// The client sees exactly the answers PostgreSQL would give it: a Parse the server already has
/// is replaced by a Close of a name that does not exist (CloseComplete, turned into ParseComplete
/// on the way back, in its place in the answer stream), a client's Close of its statement closes
/// nothing shared, and the answers to what Pooler adds (a Parse here, a Close to make room) are
/// dropped. See <see cref="StatementTracker"/> for how the answers are matched.
/// </summary>
public sealed partial class ClientSession
{
    /// <summary>A statement name no server connection has: closing it costs nothing and answers CloseComplete.</summary>
    private static readonly byte[] NoStatement = "pooler_none"u8.ToArray();

    /// <summary>Queries longer than this are not looked at for DEALLOCATE/DISCARD (those are short).</summary>
    private const int QueryInspectLimit = 8 * 1024;

    private ClientStatements? _statements; // null: not tracked (session mode)
    private int _deallocations;            // stand-in statements made for DEALLOCATE (their names must differ)

    private enum Rewrite { PassThrough, Rewritten, NeedMore }

    /// <summary>Called once the pool and its mode are known: statements are tracked where connections are shared.</summary>
    private void TrackStatements() =>
        _statements = _poolMode != PoolMode.Session ? new ClientStatements() : null;

    /// <summary>The bookkeeping for a lease of <paramref name="server"/>; null when statements are not tracked.</summary>
    private StatementTracker? StatementsOn(ServerConnection server, StatementTracker? last)
    {
        if (_statements is null || server.Target.IsRelay)
            return null;
        if (last is null || last.Client != _statements || last.Capacity != _poolConfig!.PreparedStatementsCacheSize)
            return new StatementTracker(server.Statements, _statements, server.NextLeaseStamp(), _poolConfig!.PreparedStatementsCacheSize);
        last.Renew(server.Statements, server.NextLeaseStamp());
        return last;
    }

    private static bool MayNameStatement(byte type) => type is FrontendMessageType.Parse or FrontendMessageType.Bind
        or FrontendMessageType.Describe or FrontendMessageType.Close or FrontendMessageType.Query;

    /// <summary>
    /// The extended protocol's common case, decided on the message's first bytes: a Parse of the
    /// unnamed statement (not DEALLOCATE or DISCARD), a Bind of it, a Describe or Close of a portal
    /// or of the unnamed statement. True: the message passes on as it is, in the same run as the
    /// bytes around it (its answer is noted, and a Parse's SQL looked at for session state). False:
    /// <see cref="RewriteStatementMessage"/> must look at it.
    /// </summary>
    private bool PassesAsItIs(ClientLease lease, StatementTracker tracker, in ReadOnlySequence<byte> message, in FrameHeader header)
    {
        var span = message.FirstSpan;
        if (span.Length <= FrameScanner.HeaderLength)
            return false;
        if (header.Type == FrontendMessageType.Bind)
        {
            // Only the names lead a Bind; its parameters may not have arrived yet.
            var names = span.Slice(FrameScanner.HeaderLength, (int)Math.Min(span.Length, header.FrameLength) - FrameScanner.HeaderLength);
            var portalEnd = names.IndexOf((byte)0);
            return portalEnd >= 0 && portalEnd + 1 < names.Length && names[portalEnd + 1] == 0;
        }
        if (span.Length < header.FrameLength || header.PayloadLength < 2)
            return false;
        var payload = span.Slice(FrameScanner.HeaderLength, header.PayloadLength);
        var readyAt = tracker.ReadyAt(lease.Pending);
        switch (header.Type)
        {
            case FrontendMessageType.Parse when payload[0] == 0:
            {
                var text = payload[1..];
                var textEnd = text.IndexOf((byte)0);
                if (textEnd < 0 || StatementCommand.MayBeOne(text[..textEnd]))
                    return false;
                NoteSessionState(lease, text[..textEnd]);
                if (tracker.Capacity > 0)
                    tracker.Expect(new StatementFixup(BackendMessageType.ParseComplete, StatementResponse.Forward, readyAt));
                return true;
            }
            case FrontendMessageType.Describe when payload[0] == (byte)'P' || payload[1] == 0:
                return true;
            case FrontendMessageType.Close when payload[0] == (byte)'P' || payload[1] == 0:
                if (tracker.Capacity > 0)
                    tracker.Expect(new StatementFixup(BackendMessageType.CloseComplete, StatementResponse.Forward, readyAt));
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Looks at one client message that may name a prepared statement (<paramref name="message"/>
    /// starts at its header). <see cref="Rewrite.Rewritten"/>: what the server must get instead was
    /// written, and <paramref name="consumed"/> bytes of the message are taken (the rest of a Bind
    /// passes through as it is). <see cref="Rewrite.PassThrough"/>: forward it unchanged.
    /// </summary>
    private Rewrite RewriteStatementMessage(ClientLease lease, StatementTracker tracker, in ReadOnlySequence<byte> message,
        in FrameHeader header, out long consumed)
    {
        consumed = 0;
        var readyAt = tracker.ReadyAt(lease.Pending);
        var output = lease.Server.Output;
        var names = tracker.Capacity > 0; // prepared_statements_cache_size = 0: names pass through untouched
        switch (header.Type)
        {
            case FrontendMessageType.Bind:
                return names ? RewriteBind(tracker, readyAt, output, message, header, out consumed) : Rewrite.PassThrough;
            case FrontendMessageType.Query:
                return InspectQuery(lease, tracker, readyAt, output, message, header, out consumed);
            case FrontendMessageType.Describe or FrontendMessageType.Close when !names:
                return Rewrite.PassThrough;
        }
        if (message.Length < header.FrameLength)
            return Rewrite.NeedMore;
        var frame = message.Slice(0, header.FrameLength);
        var payload = Contiguous(frame.Slice(FrameScanner.HeaderLength));
        switch (header.Type)
        {
            case FrontendMessageType.Parse:
            {
                var nameEnd = payload.IndexOf((byte)0);
                if (nameEnd >= 0 && payload[(nameEnd + 1)..] is var afterName && afterName.IndexOf((byte)0) is var textEnd and >= 0)
                    NoteSessionState(lease, afterName[..textEnd]);
                if (!names)
                    return Rewrite.PassThrough;
                // psycopg sends DEALLOCATE name and DEALLOCATE ALL as unnamed extended-protocol statements.
                if (nameEnd == 0 && RewriteDeallocate(tracker, readyAt, output, payload[1..], header, ref consumed))
                    return Rewrite.Rewritten;
                if (nameEnd <= 0)
                {
                    tracker.Expect(new StatementFixup(BackendMessageType.ParseComplete, StatementResponse.Forward, readyAt));
                    return Rewrite.PassThrough; // the unnamed statement, or malformed: the server judges
                }
                var name = Encoding.UTF8.GetString(payload[..nameEnd]);
                var body = payload[(nameEnd + 1)..];
                var before = tracker.Client.Find(name);
                var statement = before is not null && before.SameBody(body)
                    ? before
                    : PreparedStatement.Create(body, _desiredSettings.GetValueOrDefault("search_path"));
                tracker.Client.Set(name, statement);
                if (tracker.Server.Use(statement.ServerName, tracker.LeaseStamp))
                {
                    WriteClose(output, NoStatement);
                    tracker.Expect(new StatementFixup(BackendMessageType.CloseComplete, StatementResponse.AsParseComplete, readyAt)
                        { ClientName = name, ClientBefore = before });
                }
                else
                {
                    MakeRoom(tracker, readyAt, output);
                    WriteParse(output, statement);
                    tracker.Server.Add(statement.ServerName, tracker.LeaseStamp);
                    tracker.Expect(new StatementFixup(BackendMessageType.ParseComplete, StatementResponse.Forward, readyAt)
                        { AddedOnServer = statement.ServerName, ClientName = name, ClientBefore = before });
                }
                consumed = header.FrameLength;
                return Rewrite.Rewritten;
            }
            case FrontendMessageType.Describe:
            {
                if (payload.Length < 2 || payload[0] != (byte)'S' || payload[1] == 0 ||
                    tracker.Client.Find(payload[1..^1]) is not { } statement)
                    return Rewrite.PassThrough;
                EnsurePrepared(tracker, readyAt, output, statement);
                var describe = MessageBuilder.Start(output, FrontendMessageType.Describe, 1 + statement.ServerNameBytes.Length + 1);
                describe.WriteByte((byte)'S');
                describe.WriteBytes(statement.ServerNameBytes);
                describe.WriteByte(0);
                describe.Commit();
                consumed = header.FrameLength;
                return Rewrite.Rewritten;
            }
            case FrontendMessageType.Close:
            {
                if (payload.Length < 2 || payload[0] != (byte)'S' || payload[1] == 0)
                {
                    tracker.Expect(new StatementFixup(BackendMessageType.CloseComplete, StatementResponse.Forward, readyAt));
                    return Rewrite.PassThrough;
                }
                // The client's name goes; the server statement stays for others (the LRU closes it in time).
                var name = Encoding.UTF8.GetString(payload[1..^1]);
                var before = tracker.Client.Find(name);
                tracker.Client.Set(name, null);
                WriteClose(output, NoStatement);
                tracker.Expect(new StatementFixup(BackendMessageType.CloseComplete, StatementResponse.Forward, readyAt)
                    { ClientName = name, ClientBefore = before });
                consumed = header.FrameLength;
                return Rewrite.Rewritten;
            }
        }
        return Rewrite.PassThrough;
    }

    private Rewrite RewriteBind(StatementTracker tracker, long readyAt, IBufferWriter<byte> output,
        in ReadOnlySequence<byte> message, in FrameHeader header, out long consumed)
    {
        consumed = 0;
        // Only the two names in front matter; the parameters (maybe large) pass through.
        var available = message.Slice(FrameScanner.HeaderLength, Math.Min(message.Length, header.FrameLength) - FrameScanner.HeaderLength);
        var reader = new SequenceReader<byte>(available);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> portal, 0) || !reader.TryReadTo(out ReadOnlySequence<byte> name, 0))
            return message.Length < header.FrameLength ? Rewrite.NeedMore : Rewrite.PassThrough;
        if (name.IsEmpty || tracker.Client.Find(Contiguous(name)) is not { } statement)
            return Rewrite.PassThrough; // unnamed, or unknown: the server says it does not exist, by the client's name
        EnsurePrepared(tracker, readyAt, output, statement);
        // A new header and the two names; the frame's remaining bytes follow unchanged.
        var prefix = FrameScanner.HeaderLength + (int)portal.Length + 1 + statement.ServerNameBytes.Length + 1;
        var span = output.GetSpan(prefix);
        span[0] = FrontendMessageType.Bind;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], header.DeclaredLength - (int)name.Length + statement.ServerNameBytes.Length);
        portal.CopyTo(span[FrameScanner.HeaderLength..]);
        span[FrameScanner.HeaderLength + (int)portal.Length] = 0;
        statement.ServerNameBytes.CopyTo(span[(FrameScanner.HeaderLength + (int)portal.Length + 1)..]);
        span[prefix - 1] = 0;
        output.Advance(prefix);
        consumed = FrameScanner.HeaderLength + portal.Length + 1 + name.Length + 1;
        return Rewrite.Rewritten;
    }

    /// <summary>
    /// A simple query that drops statements: DEALLOCATE of a tracked statement is answered for the
    /// client (a no-op Close and a Sync stand in for it); DEALLOCATE ALL and DISCARD ALL also clear
    /// what this session and the server connection know.
    /// </summary>
    private Rewrite InspectQuery(ClientLease lease, StatementTracker tracker, long readyAt, IBufferWriter<byte> output,
        in ReadOnlySequence<byte> message, in FrameHeader header, out long consumed)
    {
        consumed = 0;
        if (header.FrameLength > QueryInspectLimit)
            return Rewrite.PassThrough;
        if (message.Length < header.FrameLength)
            return Rewrite.NeedMore;
        var text = Contiguous(message.Slice(FrameScanner.HeaderLength, header.PayloadLength));
        NoteSessionState(lease, text);
        if (tracker.Capacity == 0)
            return Rewrite.PassThrough;
        var command = StatementCommand.Read(text);
        switch (command.Kind)
        {
            case StatementCommandKind.DropAll:
                CloseAllOnServer(tracker, readyAt, output);
                tracker.Client.Clear();
                return Rewrite.PassThrough;
            case StatementCommandKind.Deallocate when tracker.Client.Find(command.Name!) is { } before:
                tracker.Client.Set(command.Name!, null);
                WriteClose(output, NoStatement);
                MessageBuilder.Start(output, FrontendMessageType.Sync, 0).Commit();
                tracker.Expect(new StatementFixup(BackendMessageType.CloseComplete, StatementResponse.AsDeallocate, readyAt)
                    { ClientName = command.Name, ClientBefore = before });
                consumed = header.FrameLength;
                return Rewrite.Rewritten;
            default:
                return Rewrite.PassThrough;
        }
    }

    /// <summary>
    /// Session state in transaction mode: state that lives on the server connection pins the client
    /// to it; a session search_path follows the client to its next connections.
    /// </summary>
    private void NoteSessionState(ClientLease lease, ReadOnlySpan<byte> sql)
    {
        var scan = SessionStateScan.Read(sql);
        if (scan.IsNone)
            return;
        if (scan.PinReason is { } reason && lease.Pin(reason))
            _log.LogInformation("client {Client} ({User}@{Pool}): {Reason} in {Mode} mode keeps {Server} for this client until it disconnects",
                Id, _userName, _poolConfig?.Name, reason, _poolMode.ToConfigName(), lease.Server);
        switch (scan.SearchPath)
        {
            case SearchPathChange.Set:
                _desiredSettings["search_path"] = scan.SearchPathValue!;
                lease.Server.AppliedSettings["search_path"] = scan.SearchPathValue!;
                _settingsKey = null;
                break;
            case SearchPathChange.Reset:
                _desiredSettings.Remove("search_path");
                lease.Server.AppliedSettings.Remove("search_path");
                _settingsKey = null;
                break;
        }
    }

    /// <summary>
    /// An unnamed Parse of SQL that drops prepared statements. DEALLOCATE ALL / DISCARD ALL: the
    /// pooler's statements on this connection are closed first (so what the server holds stays known
    /// whether or not the client's statement runs), the client's are forgotten, and the Parse goes on
    /// as it is. DEALLOCATE of a tracked statement: a throwaway statement is prepared and the client's
    /// statement becomes DEALLOCATE of that one, so the client gets PostgreSQL's answer ("DEALLOCATE")
    /// and no shared statement is touched. False: nothing to do, the Parse passes on unchanged.
    /// </summary>
    private bool RewriteDeallocate(StatementTracker tracker, long readyAt, IBufferWriter<byte> output,
        ReadOnlySpan<byte> body, in FrameHeader header, ref long consumed)
    {
        var textEnd = body.IndexOf((byte)0);
        if (textEnd < 0)
            return false;
        var command = StatementCommand.Read(body[..textEnd]);
        if (command.Kind == StatementCommandKind.DropAll)
        {
            CloseAllOnServer(tracker, readyAt, output);
            tracker.Client.Clear();
            return false;
        }
        if (command.Kind != StatementCommandKind.Deallocate || tracker.Client.Find(command.Name!) is not { } before)
            return false;
        var standIn = Encoding.ASCII.GetBytes($"{PreparedStatement.ServerNamePrefix}deallocate_{++_deallocations}");
        var parse = MessageBuilder.Start(output, FrontendMessageType.Parse, standIn.Length + 1 + "SELECT"u8.Length + 1 + 2);
        parse.WriteBytes(standIn);
        parse.WriteByte(0);
        parse.WriteBytes("SELECT"u8);
        parse.WriteByte(0);
        parse.WriteInt16(0);
        parse.Commit();
        tracker.Client.Set(command.Name!, null);
        tracker.Expect(new StatementFixup(BackendMessageType.ParseComplete, StatementResponse.Drop, readyAt)
            { ClientName = command.Name, ClientBefore = before });
        var rest = body[(textEnd + 1)..]; // parameter types, as the client sent them
        var text = Encoding.ASCII.GetBytes("DEALLOCATE ").Concat(standIn).ToArray();
        var rewritten = MessageBuilder.Start(output, FrontendMessageType.Parse, 1 + text.Length + 1 + rest.Length);
        rewritten.WriteByte(0);
        rewritten.WriteBytes(text);
        rewritten.WriteByte(0);
        rewritten.WriteBytes(rest);
        rewritten.Commit();
        tracker.Expect(new StatementFixup(BackendMessageType.ParseComplete, StatementResponse.Forward, readyAt));
        consumed = header.FrameLength;
        return true;
    }

    /// <summary>Closes every statement the pooler holds on this connection (answers dropped).</summary>
    private static void CloseAllOnServer(StatementTracker tracker, long readyAt, IBufferWriter<byte> output)
    {
        foreach (var name in tracker.Server.Names.ToList())
        {
            WriteClose(output, Encoding.ASCII.GetBytes(name));
            tracker.Server.Remove(name);
            tracker.Expect(new StatementFixup(BackendMessageType.CloseComplete, StatementResponse.Drop, readyAt)
                { RemovedFromServer = name });
        }
    }

    /// <summary>Prepares <paramref name="statement"/> on this connection unless it has it; its ParseComplete is dropped.</summary>
    private static void EnsurePrepared(StatementTracker tracker, long readyAt, IBufferWriter<byte> output, PreparedStatement statement)
    {
        if (tracker.Server.Use(statement.ServerName, tracker.LeaseStamp))
            return;
        MakeRoom(tracker, readyAt, output);
        WriteParse(output, statement);
        tracker.Server.Add(statement.ServerName, tracker.LeaseStamp);
        tracker.Expect(new StatementFixup(BackendMessageType.ParseComplete, StatementResponse.Drop, readyAt)
            { AddedOnServer = statement.ServerName });
    }

    /// <summary>prepared_statements_cache_size: closes the least recently used statement when the connection has as many.</summary>
    private static void MakeRoom(StatementTracker tracker, long readyAt, IBufferWriter<byte> output)
    {
        if (tracker.Server.Evictable(tracker.Capacity, tracker.LeaseStamp) is not { } evicted)
            return;
        WriteClose(output, Encoding.ASCII.GetBytes(evicted));
        tracker.Server.Remove(evicted);
        tracker.Expect(new StatementFixup(BackendMessageType.CloseComplete, StatementResponse.Drop, readyAt)
            { RemovedFromServer = evicted });
    }

    private static void WriteParse(IBufferWriter<byte> output, PreparedStatement statement)
    {
        var parse = MessageBuilder.Start(output, FrontendMessageType.Parse, statement.ServerNameBytes.Length + 1 + statement.Body.Length);
        parse.WriteBytes(statement.ServerNameBytes);
        parse.WriteByte(0);
        parse.WriteBytes(statement.Body);
        parse.Commit();
    }

    private static void WriteClose(IBufferWriter<byte> output, ReadOnlySpan<byte> name)
    {
        var close = MessageBuilder.Start(output, FrontendMessageType.Close, 1 + name.Length + 1);
        close.WriteByte((byte)'S');
        close.WriteBytes(name);
        close.WriteByte(0);
        close.Commit();
    }

    private static ReadOnlySpan<byte> Contiguous(in ReadOnlySequence<byte> bytes) =>
        bytes.IsSingleSegment ? bytes.FirstSpan : bytes.ToArray();
}
