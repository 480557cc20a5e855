using Pooler.Core.Servers;
using static Pooler.Core.Pools.PoolProtocol;

namespace Pooler.Core.Pools;

/// <summary>
/// Where a session waiting for a server connection is answered; implemented by the session's
/// checkout reply. <see cref="TryComplete"/> is false when that wait is over (the client left, or
/// the answer is for an older request): the desk then offers the connection to the next in line.
/// </summary>
public interface ICheckoutWaiter
{
    bool TryComplete(object reply, long requestId, bool inline);
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
    private readonly LinkedList<Waiter> _waiters = new();
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
            _waiters.AddLast(new Waiter(waiter, requestId, DateTime.UtcNow));
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
        {
            for (var node = _waiters.First; node is not null; node = node.Next)
            {
                if (node.Value.RequestId == requestId && ReferenceEquals(node.Value.ReplyTo, waiter))
                {
                    _waiters.Remove(node);
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Gives a clean connection back: to the first session in line, or onto the idle list. False
    /// when the connection must not be lent again (closed, or past server_lifetime): the supervisor
    /// closes it. <paramref name="inline"/> runs the next session's continuation on this thread.
    /// </summary>
    public bool TryReturn(ServerConnection server, bool inline)
    {
        if (server.IsClosed || Expired(server))
            return false;
        server.Touch();
        while (true)
        {
            Waiter? next;
            lock (_gate)
            {
                if (_closed)
                    return false;
                if (!_paused && _waiters.First is { } first)
                {
                    next = first.Value;
                    _waiters.RemoveFirst();
                }
                else
                {
                    _idle.Add(server);
                    return true;
                }
            }
            // Outside the lock: the waiting session may run right here and come back to the desk.
            if (next.ReplyTo.TryComplete(new Assigned(server, next.RequestId), next.RequestId, inline))
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
            return ([.. _idle], _waiters.Count, _waiters.First?.Value.Since);
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
        {
            var all = _waiters.ToList();
            _waiters.Clear();
            return all;
        }
    }

    /// <summary>Supervisor side: the sessions that have waited longer than <paramref name="limit"/>, taken out of line.</summary>
    internal List<Waiter> TakeWaitersOlderThan(TimeSpan limit, DateTime now)
    {
        var expired = new List<Waiter>();
        lock (_gate)
        {
            while (_waiters.First is { } first && now - first.Value.Since > limit)
            {
                expired.Add(first.Value);
                _waiters.RemoveFirst();
            }
        }
        return expired;
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

/// <summary>A session waiting for a server connection, in arrival order.</summary>
internal sealed record Waiter(ICheckoutWaiter ReplyTo, long RequestId, DateTime Since);
