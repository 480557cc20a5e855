using Pooler.Core.Servers;

namespace Pooler.Core.Pools;

/// <summary>
/// The idle server connections of one user's pool, shared by the pool's supervisor and the
/// sessions on its node. A session takes an idle connection and gives it back here directly —
/// the common case of every transaction costs a lock, not a message round trip. Everything else
/// (opening and closing connections, the queue of waiting sessions, timeouts) stays with the
/// supervisor: a session that finds nothing idle asks it, and a session giving a connection back
/// while others wait hands it to the supervisor so the first in line gets it.
/// </summary>
public sealed class IdleServers
{
    private readonly object _gate = new();
    private readonly List<ServerConnection> _idle = []; // most recently used last
    private int _waiting;

    /// <summary>Session side: the most recently used idle connection that is still open, if any.</summary>
    public bool TryTake(out ServerConnection server)
    {
        lock (_gate)
        {
            while (_idle.Count > 0)
            {
                server = _idle[^1];
                _idle.RemoveAt(_idle.Count - 1);
                if (!server.IsClosed)
                    return true;
            }
        }
        server = null!;
        return false;
    }

    /// <summary>Session side: gives a clean connection back, unless sessions are waiting (then the supervisor must).</summary>
    public bool TryReturn(ServerConnection server)
    {
        lock (_gate)
        {
            if (_waiting > 0 || server.IsClosed)
                return false;
            server.LastUsed = DateTime.UtcNow;
            _idle.Add(server);
            return true;
        }
    }

    /// <summary>Supervisor side: takes an idle connection, or else counts one more waiting session — atomically,
    /// so that no connection can be given back between the look and the queueing.</summary>
    internal ServerConnection? TakeOrWait()
    {
        lock (_gate)
        {
            while (_idle.Count > 0)
            {
                var server = _idle[^1];
                _idle.RemoveAt(_idle.Count - 1);
                if (!server.IsClosed)
                    return server;
            }
            _waiting++;
            return null;
        }
    }

    /// <summary>Supervisor side: one waiting session fewer (served, timed out or gone).</summary>
    internal void WaiterLeft()
    {
        lock (_gate)
            _waiting = Math.Max(0, _waiting - 1);
    }

    internal void Put(ServerConnection server)
    {
        lock (_gate)
        {
            server.LastUsed = DateTime.UtcNow;
            _idle.Add(server);
        }
    }

    internal bool Remove(ServerConnection server)
    {
        lock (_gate)
            return _idle.Remove(server);
    }

    internal int Count
    {
        get { lock (_gate) return _idle.Count; }
    }

    /// <summary>Removes and returns the idle connections <paramref name="expired"/> picks, oldest first.</summary>
    internal List<ServerConnection> RemoveWhere(Func<ServerConnection, int, bool> expired)
    {
        var removed = new List<ServerConnection>();
        lock (_gate)
        {
            for (var i = 0; i < _idle.Count; i++)
            {
                if (expired(_idle[i], _idle.Count - removed.Count))
                    removed.Add(_idle[i]);
            }
            foreach (var server in removed)
                _idle.Remove(server);
        }
        return removed;
    }
}
