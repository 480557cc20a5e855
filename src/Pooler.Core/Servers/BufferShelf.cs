namespace Pooler.Core.Servers;

/// <summary>
/// An event loop's free lent buffers. The loop's thread takes and gives back without a lock. A
/// buffer given back on another thread (a client whose login went on on the thread pool, after its
/// SCRAM key derivation) goes on a locked side stack, which the loop takes from when its own is
/// empty: left to the collector instead, every such client took a buffer from the loop for good, and
/// a storm of 1,000 logins allocated their send buffers (~2.8 MB) and receive buffers again.
/// </summary>
internal sealed class BufferShelf(int size, int kept)
{
    private readonly Stack<byte[]> _own = new();       // the loop's thread only
    private readonly Stack<byte[]> _elsewhere = new(); // under its own lock (its count is peeked without)

    /// <summary>The buffers kept on the side stack (for tests).</summary>
    internal int ReturnedElsewhere
    {
        get
        {
            lock (_elsewhere)
                return _elsewhere.Count;
        }
    }

    /// <summary>On the loop's thread: a free buffer, else a new one.</summary>
    public byte[] Rent()
    {
        if (_own.TryPop(out var buffer))
            return buffer;
        return RentElsewhere();
    }

    /// <summary>On any other thread: a buffer from the side stack, else a new one.</summary>
    public byte[] RentElsewhere()
    {
        if (_elsewhere.Count > 0) // a stale count only costs a lock or a new buffer
        {
            lock (_elsewhere)
            {
                if (_elsewhere.TryPop(out var buffer))
                    return buffer;
            }
        }
        return new byte[size];
    }

    /// <summary>On the loop's thread: keeps <paramref name="buffer"/> unless <c>kept</c> are free already.</summary>
    public void ReturnOnLoop(byte[] buffer)
    {
        if (_own.Count < kept)
            _own.Push(buffer);
    }

    /// <summary>On any other thread: keeps <paramref name="buffer"/> on the side stack, up to <c>kept</c> there.</summary>
    public void ReturnElsewhere(byte[] buffer)
    {
        lock (_elsewhere)
        {
            if (_elsewhere.Count < kept)
                _elsewhere.Push(buffer);
        }
    }
}
