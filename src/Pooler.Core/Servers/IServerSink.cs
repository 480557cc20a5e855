using System.Buffers;
using System.IO.Pipelines;
using Pooler.Protocol;

namespace Pooler.Core.Servers;

/// <summary>What a server connection should do with a ReadyForQuery it has just read.</summary>
public enum ReadyAction
{
    /// <summary>Forward it; the sink keeps the connection.</summary>
    Forward,

    /// <summary>Forward it, flush, then detach: the unit of work (transaction, statement) is over.</summary>
    ForwardAndRelease,

    /// <summary>Do not forward it; detach and tell the sink (<see cref="IServerSink.OnRefused"/>):
    /// the client did something its pool mode does not allow.</summary>
    Refuse,
}

/// <summary>What to do with a ParseComplete or CloseComplete from the server.</summary>
public enum StatementResponse : byte
{
    /// <summary>It answers the client's own message: pass it on.</summary>
    Forward,

    /// <summary>It answers a message Pooler added (a Parse on this connection, a Close to make room): drop it.</summary>
    Drop,

    /// <summary>It answers the no-op Close that stood in for a Parse the server had already: the client gets ParseComplete.</summary>
    AsParseComplete,

    /// <summary>It answers the no-op Close that stood in for an SQL DEALLOCATE of a tracked statement: the client gets CommandComplete.</summary>
    AsDeallocate,
}

/// <summary>
/// Where a server connection's bytes go while it is lent: a client's socket, or the pooler itself
/// for internal queries (reset, SET). The server's reader calls these from its own loop only.
/// </summary>
public interface IServerSink
{
    /// <summary>Server bytes to pass on, in order; whole or partial messages.</summary>
    void Write(in ReadOnlySequence<byte> bytes);

    /// <summary>Pushes what was written; awaiting it is the backpressure on the server socket.</summary>
    ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken);

    /// <summary>Called with each ReadyForQuery before it is written.</summary>
    ReadyAction OnReadyForQuery(TransactionStatus status);

    /// <summary>
    /// Called after a <see cref="ReadyAction.ForwardAndRelease"/> once the connection no longer
    /// writes to this sink. <paramref name="lastFlush"/> is the sink's last flush when it has not
    /// completed yet (the connection goes back to the pool meanwhile), else default.
    /// </summary>
    void OnReleased(ValueTask<FlushResult> lastFlush);

    /// <summary>Called instead of <see cref="OnReleased"/> after a <see cref="ReadyAction.Refuse"/>.</summary>
    void OnRefused();

    /// <summary>The server connection broke (closed, protocol error) while lent to this sink.</summary>
    void OnServerLost(string reason);

    /// <summary>
    /// A relay's owner node asks the entry node to let go of it (the owner is leaving, or the pool
    /// moved): <see cref="ReadyAction.ForwardAndRelease"/> when nothing is in flight, so the relay is
    /// given up now, else <see cref="ReadyAction.Forward"/> and the release follows the next
    /// ReadyForQuery that leaves nothing pending.
    /// </summary>
    ReadyAction OnRelayRelease() => ReadyAction.Forward;

    /// <summary>Whether ParseComplete and CloseComplete must be shown to <see cref="OnStatementResponse"/> (prepared statements are tracked).</summary>
    bool TracksStatements => false;

    /// <summary>Called with each ParseComplete and CloseComplete when <see cref="TracksStatements"/>.</summary>
    StatementResponse OnStatementResponse(byte type) => StatementResponse.Forward;

    /// <summary>
    /// The same answer as <see cref="OnStatementResponse"/> when it is <see cref="StatementResponse.Forward"/>
    /// (and then it counts as given); false, with nothing taken, when it would be anything else.
    /// </summary>
    bool TryForwardStatementResponse(byte type) => true;
}
