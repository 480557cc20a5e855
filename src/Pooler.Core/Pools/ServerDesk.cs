using System.Diagnostics;
using Pooler.Core.Servers;
using static Pooler.Core.Pools.PoolProtocol;

namespace Pooler.Core.Pools;

/// <summary>
/// Where a session waiting for a server connection is answered; implemented by the session's
/// checkout reply. The reply is the <see cref="ServerConnection"/> lent, or a
/// <see cref="PoolProtocol.CheckoutFailed"/>. <see cref="TryComplete"/> is false when that wait is
/// over (the client left, or the answer is for an older request): the desk then offers the
/// connection to the next in line.
/// </summary>
public interface ICheckoutWaiter
{
    bool TryComplete(object reply, long requestId, bool inline);

    /// <summary>
    /// The waiter is near the front of the line (<paramref name="place"/> 0 is the next one to be
    /// answered): start loading into the CPU's cache what its answer will touch, one step per place,
    /// each step reading only what the step before loaded (see <see cref="WaiterLine.WarmFront"/>).
    /// </summary>
    void Warm(int place) { }
}

/// <summary>
/// The lending desk of one user's pool on the node that owns it: the idle server connections and
/// the line of sessions waiting for one, shared by the pool's supervisor and the sessions. Every
/// transaction passes here twice — a session takes a connection, then gives it back, and the
/// desk hands it straight to the first session in line (running that session's continuation on
/// the spot), so in the steady state of a busy pool no message and no thread hop is involved.
/// The supervisor keeps what needs decisions: opening connections (it is told when a session
/// queues and the pool may still grow), closing them, lifetimes and the waiting timeout.
/// </summary>
public sealed class ServerDesk(TimeSpan serverLifetime)
{
    private readonly Lock _gate = new();
    private readonly List<ServerConnection> _idle = []; // most recently used last
    private readonly WaiterLine _waiters = new();
    private bool _full;
    private bool _closed;
    private bool _paused; // PAUSE: connections come back, none is lent

    /// <summary>The pool left this node: nothing is lent here any more.</summary>
    public bool IsClosed
    {
        get { lock (_gate) return _closed; }
    }

    internal void Close()
    {
        lock (_gate)
            _closed = true;
    }

    /// <summary>server_lifetime: a connection older than this is not lent again.</summary>
    public TimeSpan ServerLifetime { get; set; } = serverLifetime;

    /// <summary>
    /// Session side: an idle connection if there is one; otherwise the session joins the line and
    /// <paramref name="tellSupervisor"/> says whether the pool may still open a connection for it.
    /// </summary>
    public bool TryTakeOrQueue(ICheckoutWaiter waiter, long requestId, out ServerConnection server, out bool tellSupervisor)
    {
        lock (_gate)
        {
            tellSupervisor = false;
            if (_closed)
            {
                // The session finds out from the answer, as a queued one would.
                server = null!;
                waiter.TryComplete(new PoolProtocol.CheckoutFailed(PoolSupervisor.PoolMovedState, "pool moved", requestId), requestId, inline: false);
                return false;
            }
            if (!_paused && TakeIdle(out server))
                return true;
            server = null!;
            _waiters.Add(new Waiter(waiter, requestId, EventLoop.Timestamp()));
            tellSupervisor = !_full && !_paused;
            return false;
        }
    }

    /// <summary>Supervisor side: an idle connection for a moment (a lag check), without joining the line; give it back with TryReturn.</summary>
    internal bool TryBorrowIdle(out ServerConnection server)
    {
        lock (_gate)
        {
            if (!_closed && !_paused && TakeIdle(out server))
                return true;
            server = null!;
            return false;
        }
    }

    /// <summary>Session side: leaves the line (the client went away while waiting).</summary>
    public void Leave(ICheckoutWaiter waiter, long requestId)
    {
        lock (_gate)
            _waiters.Remove(waiter, requestId);
    }

    /// <summary>
    /// Gives a clean connection back: to the first session in line, or onto the idle list. False
    /// when the connection must not be lent again (closed, or past server_lifetime): the supervisor
    /// closes it. <paramref name="inline"/> runs the next session's continuation on this thread.
    /// The session's answer is the connection itself (a refusal is a <see cref="CheckoutFailed"/>).
    /// </summary>
    public bool TryReturn(ServerConnection server, bool inline)
    {
        if (server.IsClosed || Expired(server))
            return false;
        server.Touch();
        while (true)
        {
            Waiter next;
            lock (_gate)
            {
                if (_closed)
                    return false;
                if (_paused || !_waiters.TryTakeFirst(out next))
                {
                    _idle.Add(server);
                    return true;
                }
                _waiters.WarmFront();
            }
            // Outside the lock: the waiting session may run right here and come back to the desk.
            if (next.ReplyTo.TryComplete(server, next.RequestId, inline))
                return true;
        }
    }

    /// <summary>Not to be lent again: past server_lifetime, or opened before a RECONNECT.</summary>
    internal bool Expired(ServerConnection server) =>
        (ServerLifetime > TimeSpan.Zero && server.Age > ServerLifetime) ||
        server.ConnectedAt < ReconnectBefore;

    /// <summary>RECONNECT: connections opened before this are closed when they come back.</summary>
    public DateTime ReconnectBefore { get; set; } = DateTime.MinValue;

    /// <summary>PAUSE: from now on connections that come back stay idle and sessions wait in line.</summary>
    internal void Pause()
    {
        lock (_gate)
            _paused = true;
    }

    /// <summary>RESUME: the idle connections go to the sessions in line.</summary>
    internal void Resume()
    {
        List<ServerConnection> idle;
        lock (_gate)
        {
            _paused = false;
            idle = [.. _idle];
            _idle.Clear();
        }
        foreach (var server in idle)
            if (!TryReturn(server, inline: false))
                lock (_gate)
                    _idle.Add(server); // expired: the supervisor's janitor closes it
    }

    /// <summary>A moment's view for SHOW POOLS / SHOW SERVERS.</summary>
    internal (ServerConnection[] Idle, int Waiting, DateTime? OldestWait) Observe()
    {
        lock (_gate)
            return ([.. _idle], _waiters.Count, _waiters.OldestSince);
    }

    private bool TakeIdle(out ServerConnection server)
    {
        while (_idle.Count > 0)
        {
            server = _idle[^1];
            _idle.RemoveAt(_idle.Count - 1);
            if (!server.IsClosed)
                return true;
        }
        server = null!;
        return false;
    }

    /// <summary>Supervisor side: whether the pool is at pool_size (a queued session then waits for a return, not a new connection).</summary>
    internal void SetFull(bool full)
    {
        lock (_gate)
            _full = full;
    }

    internal int WaitingCount
    {
        get { lock (_gate) return _waiters.Count; }
    }

    /// <summary>Supervisor side: the connections open to this server (idle or lent).</summary>
    internal int OpenCount { get; set; }

    /// <summary>Connections lent out plus sessions waiting: load_balancing_mode = "loc" picks the server with the fewest.</summary>
    public int Outstanding
    {
        get { lock (_gate) return Math.Max(0, OpenCount - _idle.Count) + _waiters.Count; }
    }

    /// <summary>Supervisor side: everyone in line leaves, to be told why (the pool cannot connect, or stops).</summary>
    internal List<Waiter> TakeAllWaiters()
    {
        lock (_gate)
            return _waiters.TakeWhile(static (_, _) => true, (object?)null);
    }

    /// <summary>Supervisor side: the sessions that have waited longer than <paramref name="limit"/>, taken out of line.</summary>
    internal List<Waiter> TakeWaitersOlderThan(TimeSpan limit)
    {
        var now = Stopwatch.GetTimestamp();
        lock (_gate)
            return _waiters.TakeWhile(static (waiter, state) => Stopwatch.GetElapsedTime(waiter.Since, state.Now) > state.Limit, (Now: now, Limit: limit));
    }

    internal bool RemoveIdle(ServerConnection server)
    {
        lock (_gate)
            return _idle.Remove(server);
    }

    /// <summary>Removes and returns the idle connections <paramref name="expired"/> picks, oldest first.</summary>
    internal List<ServerConnection> RemoveIdleWhere(Func<ServerConnection, bool> expired)
    {
        var removed = new List<ServerConnection>();
        lock (_gate)
        {
            foreach (var server in _idle)
                if (expired(server))
                    removed.Add(server);
            foreach (var server in removed)
                _idle.Remove(server);
        }
        return removed;
    }
}

/// <summary>A session waiting for a server connection, in arrival order; <c>Since</c>: a <see cref="Stopwatch"/> timestamp.</summary>
internal readonly record struct Waiter(ICheckoutWaiter ReplyTo, long RequestId, long Since);

/// <summary>
/// The line of waiting sessions, oldest first: a ring of <see cref="Waiter"/> values, so joining
/// and leaving the line allocates nothing once the ring has grown to the longest line seen. A
/// session that leaves from the middle (its client went away) leaves a hole that is skipped.
/// Not thread-safe: the desk's lock guards it.
/// </summary>
internal sealed class WaiterLine
{
    private Waiter[] _ring = new Waiter[16];
    private int _head;  // index of the oldest entry (perhaps a hole)
    private int _used;  // entries from the head on, holes included
    private int _holes;

    public int Count => _used - _holes;

    /// <summary>When the longest-waiting session joined; null when nobody waits.</summary>
    public DateTime? OldestSince
    {
        get
        {
            SkipHoles();
            return _used > 0 ? DateTime.UtcNow - Stopwatch.GetElapsedTime(_ring[_head].Since) : null;
        }
    }

    public void Add(in Waiter waiter)
    {
        if (_used == _ring.Length)
            Grow();
        _ring[(_head + _used) % _ring.Length] = waiter;
        _used++;
    }

    public bool TryTakeFirst(out Waiter waiter)
    {
        SkipHoles();
        if (_used == 0)
        {
            waiter = default;
            return false;
        }
        waiter = _ring[_head];
        RemoveHead();
        return true;
    }

    /// <summary>
    /// With many sessions in line, each one's objects have left the CPU's cache by the time its turn
    /// comes, and touching them one after another (session, its await, its lease ...) costs a memory
    /// round trip each. The front of the line is warmed in steps, one step per answer: the fourth
    /// one's waiter object is fetched, and each nearer one fetches what the last step brought in
    /// leads to. Fetching is a hint to the CPU: nothing waits for it.
    /// </summary>
    public void WarmFront()
    {
        var ring = _ring;
        var place = 0;
        // Places count the sessions still in line; a few holes (sessions that left) are looked past.
        for (var i = 0; i < _used && i < 8 && place < 4; i++)
        {
            var waiter = ring[(_head + i) % ring.Length].ReplyTo;
            if (waiter is null)
                continue;
            if (place == 3)
                Prefetch.Object(waiter);
            else
                waiter.Warm(place);
            place++;
        }
    }

    /// <summary>Takes <paramref name="replyTo"/>'s wait for <paramref name="requestId"/> out of the line, if it is there.</summary>
    public void Remove(ICheckoutWaiter replyTo, long requestId)
    {
        for (var i = 0; i < _used; i++)
        {
            ref var entry = ref _ring[(_head + i) % _ring.Length];
            if (entry.RequestId != requestId || !ReferenceEquals(entry.ReplyTo, replyTo))
                continue;
            entry = default;
            _holes++;
            SkipHoles();
            return;
        }
    }

    /// <summary>Takes the waiters from the oldest on for as long as <paramref name="take"/> says so.</summary>
    public List<Waiter> TakeWhile<TState>(Func<Waiter, TState, bool> take, TState state)
    {
        var taken = new List<Waiter>();
        while (true)
        {
            SkipHoles();
            if (_used == 0 || !take(_ring[_head], state))
                return taken;
            taken.Add(_ring[_head]);
            RemoveHead();
        }
    }

    private void SkipHoles()
    {
        while (_used > 0 && _ring[_head].ReplyTo is null)
        {
            _holes--;
            RemoveHead();
        }
    }

    private void RemoveHead()
    {
        _ring[_head] = default;
        _head = (_head + 1) % _ring.Length;
        _used--;
    }

    private void Grow()
    {
        var grown = new Waiter[_ring.Length * 2];
        for (var i = 0; i < _used; i++)
            grown[i] = _ring[(_head + i) % _ring.Length];
        _ring = grown;
        _head = 0;
    }
}
