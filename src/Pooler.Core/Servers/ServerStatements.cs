namespace Pooler.Core.Servers;

/// <summary>
/// The named prepared statements one server connection holds for clients in transaction and
/// statement mode, under the names Pooler gave them (derived from the statement's text, so clients
/// sending the same statement share it), least recently used first. Only the session holding the
/// connection touches it, under its lease's lock.
/// </summary>
public sealed class ServerStatements
{
    private readonly Dictionary<string, LinkedListNode<Entry>> _byName = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _order = new(); // least recently used first

    private sealed class Entry(string name)
    {
        public string Name { get; } = name;
        public long Lease { get; set; } // the last lease that used it: never closed under that lease's feet
    }

    public int Count => _byName.Count;

    /// <summary>The names, least recently used first (SHOW and tests).</summary>
    public IEnumerable<string> Names => _order.Select(e => e.Name);

    /// <summary>Whether the server has (or is about to have) <paramref name="name"/>; a hit counts as a use.</summary>
    public bool Use(string name, long lease)
    {
        if (!_byName.TryGetValue(name, out var node))
            return false;
        node.Value.Lease = lease;
        _order.Remove(node);
        _order.AddLast(node);
        return true;
    }

    public void Add(string name, long lease)
    {
        if (_byName.ContainsKey(name))
        {
            Use(name, lease);
            return;
        }
        _byName[name] = _order.AddLast(new Entry(name) { Lease = lease });
    }

    public void Remove(string name)
    {
        if (_byName.Remove(name, out var node))
            _order.Remove(node);
    }

    /// <summary>
    /// The statement to close to make room for one more under <paramref name="capacity"/>, or null:
    /// the least recently used one that the current lease has not used (a statement the client may
    /// still bind in this batch is never closed; the cache overshoots instead, until the next lease).
    /// </summary>
    public string? Evictable(int capacity, long lease)
    {
        if (_byName.Count < capacity)
            return null;
        for (var node = _order.First; node is not null; node = node.Next)
            if (node.Value.Lease != lease)
                return node.Value.Name;
        return null;
    }

    /// <summary>The server dropped every statement (DISCARD ALL, DEALLOCATE ALL).</summary>
    public void Clear()
    {
        _byName.Clear();
        _order.Clear();
    }
}
