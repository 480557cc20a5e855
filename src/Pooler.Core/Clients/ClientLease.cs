using System.Buffers;
using System.IO.Pipelines;
using Pooler.Config;
using Pooler.Core.Servers;
using Pooler.Protocol;

namespace Pooler.Core.Clients;

/// <summary>
/// One lending of a server connection to a client session. Both socket loops touch it: the
/// client loop counts the requests it forwards (a Query or a Sync each expect one ReadyForQuery),
/// the server loop counts the ReadyForQuery messages coming back. When every request is answered,
/// no extended-query batch is half sent and the server is idle, a transaction-mode lease ends;
/// <see cref="Gate"/> makes that decision and the client's next write mutually exclusive, so no
/// byte of a new request can reach a connection that has just been handed back.
/// A session lends its next connection with the same object once this lending is over for both
/// loops (see <see cref="TryRenew"/>): a transaction then allocates no lease.
/// </summary>
public sealed class ClientLease(ClientSession session, ServerConnection server, PipeWriter clientOutput, PoolMode mode)
    : IServerSink
{
    /// <summary>The lock both loops take; the lease itself, to save an allocation per transaction.</summary>
    public object Gate => this;
    public ServerConnection Server { get; private set; } = server;
    public PoolMode Mode { get; private set; } = mode;

    /// <summary>Why the client keeps this connection for the rest of its session (null: it does not).</summary>
    public string? PinnedFor { get; private set; }

    /// <summary>
    /// Under <see cref="Gate"/>: the client made state that lives on this server connection (LISTEN, a
    /// temporary table ...): from now on the lease behaves as in session mode, reset when the client leaves.
    /// </summary>
    public bool Pin(string reason)
    {
        if (Mode == PoolMode.Session)
            return false;
        Mode = PoolMode.Session;
        PinnedFor = reason;
        return true;
    }

    /// <summary>Requests forwarded whose ReadyForQuery has not come back yet.</summary>
    public int Pending { get; set; }

    /// <summary>Extended-query messages forwarded since the last Sync.</summary>
    public bool OpenBatch { get; set; }

    /// <summary>The lease is over: the server went back to the pool, or is about to.</summary>
    public bool Released { get; set; }

    /// <summary>The client loop is flushing bytes to the server; check-in waits for it.</summary>
    public bool Flushing { get; set; }

    public TransactionStatus LastStatus { get; private set; } = TransactionStatus.Idle;

    /// <summary>Prepared statement bookkeeping (transaction and statement mode); null when not tracked.</summary>
    internal StatementTracker? Statements { get; set; }

    public bool TracksStatements => Statements is not null;

    /// <summary>Server loop: a ParseComplete or CloseComplete, matched to what was sent for it.</summary>
    public StatementResponse OnStatementResponse(byte type)
    {
        lock (Gate)
            return Statements!.OnResponse(type);
    }

    /// <summary>Server loop: a ParseComplete or CloseComplete taken as it is, or false to ask <see cref="OnStatementResponse"/>.</summary>
    public bool TryForwardStatementResponse(byte type)
    {
        lock (Gate)
            return Statements!.TryForward(type);
    }

    /// <summary>Where this lease's queries, transactions and bytes are counted (null: not counted).</summary>
    public Stats.PoolCounters? Counters { get; set; }

    private long _requestStart; // Stopwatch timestamp of the oldest unanswered request, 0 when none
    private long _xactStart;    // ... of the transaction's first request, 0 between transactions

    /// <summary>Client loop, under <see cref="Gate"/>: <paramref name="bytes"/> of requests went to the server.</summary>
    public void NoteRequest(long bytes)
    {
        if (Counters is not { } counters)
            return;
        counters.AddReceived(bytes);
        if (_requestStart == 0)
            _requestStart = EventLoop.Timestamp();
        if (_xactStart == 0)
            _xactStart = _requestStart;
    }

    /// <summary>Server loop, under <see cref="Gate"/>: a ReadyForQuery ends a query, and at 'I' a transaction.</summary>
    private void CountReady(TransactionStatus status)
    {
        if (Counters is not { } counters || _requestStart == 0)
            return;
        var now = EventLoop.Timestamp();
        counters.AddQuery(now - _requestStart);
        _requestStart = Pending > 0 ? now : 0;
        if (status == TransactionStatus.Idle && _xactStart != 0)
        {
            counters.AddTransaction(now - _xactStart);
            _xactStart = 0;
        }
    }

    /// <summary>The client holding this lease (SHOW SERVERS' link).</summary>
    public string ClientId => session.Id;

    private bool _checkinOwed;
    private bool _releaseRequested; // a relay's owner asked to let go of it at the next quiet moment
    private long _parameterVersion;

    /// <summary>Tracked settings as the server reports them at release, if they changed during the lease
    /// (the client's own SET): the client saw those ParameterStatus messages, so that is its view now.</summary>
    public IReadOnlyDictionary<string, string>? FinalSettings { get; private set; }

    /// <summary>Notes where the server's reported parameters stand as the lease starts.</summary>
    public void MarkSettings() => _parameterVersion = Server.ParameterVersion;

    private void CaptureFinalSettings()
    {
        if (Server.ParameterVersion == _parameterVersion)
            return;
        var changed = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in ClientSession.TrackedSettings)
            if (Server.Parameters.TryGetValue(name, out var now))
                changed[name] = now;
        FinalSettings = changed;
    }

    /// <summary>A request is in flight: the server is running something for this client.</summary>
    public bool IsBusy
    {
        get { lock (Gate) return !Released && (Pending > 0 || OpenBatch); }
    }

    /// <summary>Sends the server's bytes to the client at once (see <see cref="SocketWriter.Send"/>).</summary>
    public void Write(in ReadOnlySequence<byte> bytes)
    {
        Counters?.AddSent(bytes.Length);
        foreach (var segment in bytes)
            SocketWriter.SendOrWrite(clientOutput, segment.Span);
    }

    public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken) =>
        clientOutput.FlushAsync(cancellationToken);

    public ReadyAction OnReadyForQuery(TransactionStatus status)
    {
        lock (Gate)
        {
            Pending = Math.Max(0, Pending - 1);
            Statements?.OnReady();
            LastStatus = status;
            CountReady(status);
            if (Released || Pending > 0 || OpenBatch)
                return ReadyAction.Forward;
            // Session mode keeps the server for the whole session, except when the node is
            // shutting down (then the session ends after its transaction) or a relay's owner asked
            // for the relay back.
            if (Mode == PoolMode.Session && !((session.IsStopping || _releaseRequested) && status == TransactionStatus.Idle))
            {
                if (status != TransactionStatus.Idle)
                    session.ArmIdleInTransactionTimer();
                return ReadyAction.Forward;
            }
            if (status != TransactionStatus.Idle)
            {
                if (Mode != PoolMode.Statement)
                {
                    session.ArmIdleInTransactionTimer();
                    return ReadyAction.Forward;
                }
                // Statement mode hands the server back after every statement, so a transaction
                // block cannot be kept: refuse it rather than silently hold the connection.
                Released = true;
                return ReadyAction.Refuse;
            }
            Released = true;
            CaptureFinalSettings();
            return ReadyAction.ForwardAndRelease;
        }
    }

    public ReadyAction OnRelayRelease()
    {
        lock (Gate)
        {
            if (Released)
                return ReadyAction.Forward;
            if (Pending > 0 || OpenBatch || LastStatus != TransactionStatus.Idle)
            {
                _releaseRequested = true;
                return ReadyAction.Forward;
            }
            Released = true;
            return ReadyAction.ForwardAndRelease;
        }
    }

    /// <summary>
    /// Set when the server loop has written this lease's last bytes to the client: the lease can
    /// end (Released) at the ReadyForQuery, before that ReadyForQuery is flushed, and the client's
    /// next server must not write to the client's socket until the flush is done.
    /// </summary>
    private bool _clientOutputFree;
    private TaskCompletionSource? _clientOutputWaiter;

    private bool _lastFlushPending; // released while the server's last answer was still being flushed
    private ValueTask<FlushResult> _lastFlush;
    private Action? _onLastFlushed; // OnLastFlushed, made once per lease object

    /// <summary>
    /// Starts a new lending of <paramref name="next"/> with this object, if this lending is over for
    /// everyone: released, its last answer flushed to the client (the server's loop is done with it),
    /// no flush of the client's bytes under way and no check-in owed (the client's loop is done with
    /// it). False otherwise, and for a relay (held for the session): then the session makes a new one.
    /// </summary>
    public bool TryRenew(ServerConnection next, PoolMode mode)
    {
        lock (Gate)
        {
            if (!Released || !_clientOutputFree || _lastFlushPending || _clientOutputWaiter is not null ||
                Flushing || _checkinOwed || Server.Target.IsRelay || next.Target.IsRelay)
                return false;
            Server = next;
            Mode = mode;
            PinnedFor = null;
            Pending = 0;
            OpenBatch = false;
            Released = false;
            LastStatus = TransactionStatus.Idle;
            FinalSettings = null;
            _requestStart = _xactStart = 0;
            _releaseRequested = false;
            _clientOutputFree = false;
            return true;
        }
    }

    private void FreeClientOutput()
    {
        TaskCompletionSource? waiter;
        lock (Gate)
        {
            _clientOutputFree = true;
            _lastFlushPending = false;
            waiter = _clientOutputWaiter;
            _clientOutputWaiter = null;
        }
        waiter?.TrySetResult();
    }

    /// <summary>Completes once the server loop has flushed everything of this ended lease to the client.</summary>
    public Task ClientOutputFreed()
    {
        lock (Gate)
        {
            if (_clientOutputFree)
                return Task.CompletedTask;
            // No RunContinuationsAsynchronously: the waiting session goes on at once on the server
            // loop's thread that freed the output, rather than waking a thread-pool thread for it.
            return (_clientOutputWaiter ??= new TaskCompletionSource()).Task;
        }
    }

    /// <summary>
    /// Completes once the answer that ended this lease is flushed to the client: at once unless the
    /// server went back while that flush was under way (see <see cref="OnReleased"/>).
    /// </summary>
    public Task LastAnswerFlushed()
    {
        lock (Gate)
            return _lastFlushPending ? (_clientOutputWaiter ??= new TaskCompletionSource()).Task : Task.CompletedTask;
    }

    /// <remarks>
    /// The server goes back first and the client's output is freed last, when the flush of its last
    /// answer is done (on an event loop, at the end of its batch): a session waiting for that runs
    /// on right there (see <see cref="ClientOutputFreed"/>) and may want a server at once.
    /// </remarks>
    public void OnReleased(ValueTask<FlushResult> lastFlush)
    {
        bool owed;
        lock (Gate)
        {
            owed = _checkinOwed = Flushing;
            _lastFlushPending = !lastFlush.IsCompleted;
        }
        if (!owed)
            session.OnLeaseEnded(this, reusable: true);
        if (lastFlush.IsCompleted)
        {
            FreeClientOutput();
            return;
        }
        _lastFlush = lastFlush;
        lastFlush.GetAwaiter().UnsafeOnCompleted(_onLastFlushed ??= OnLastFlushed);
    }

    private void OnLastFlushed()
    {
        try
        {
            _lastFlush.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The client is gone: its session ends when its reader notices.
        }
        _lastFlush = default;
        FreeClientOutput();
    }

    public void OnRefused()
    {
        session.OnTransactionBlockRefused(this);
        FreeClientOutput();
    }

    /// <summary>Called by the client loop after its flush; completes a check-in that waited for it.</summary>
    public void EndFlush()
    {
        bool owed;
        lock (Gate)
        {
            Flushing = false;
            owed = _checkinOwed;
            _checkinOwed = false;
        }
        if (owed)
            session.OnLeaseEnded(this, reusable: true);
    }

    public void OnServerLost(string reason)
    {
        int unanswered;
        lock (Gate)
        {
            unanswered = -1;
            if (!Released)
            {
                Released = true;
                unanswered = Pending;
                Pending = 0;
                OpenBatch = false;
            }
        }
        // The client's answers to what was lost are written before anything else may write.
        if (unanswered >= 0)
            session.OnServerLost(this, reason, unanswered);
        FreeClientOutput(); // the server loop has ended: it writes nothing more
    }
}
