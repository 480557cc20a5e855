using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Pooler.Core.Servers;

/// <summary>
/// A socket's receive side as a <see cref="PipeReader"/> over one buffer that the connection owns:
/// a read is one receive into the free end of the buffer, and the bytes come back as a single
/// segment. A receive that has to wait for data completes on the socket engine's thread and runs
/// the reader's caller right there (no state machine of its own, no execution context, no buffer
/// rented and returned per read). The buffer grows when the caller holds a message longer than it
/// and shrinks back once that is consumed. One reader at a time, as for any pipe.
/// With the pooler's own epoll loop (<see cref="SocketEvents"/>), a read receives at once only
/// when the kernel reported data since the last receive came up short, else it waits for the
/// report; .NET's engine instead tries a receive first and waits after it fails.
/// A reader that lends its buffer (a client's, on the loop) holds none while it waits with nothing
/// unread: it gives the buffer back to the loop when it parks and takes one when data comes, so an
/// idle client costs no receive buffer.
/// </summary>
internal sealed class SocketReader : PipeReader, IValueTaskSource<ReadResult>
{
    /// <summary>A receive into less free space than this first moves the unread bytes to the front.</summary>
    private const int MinimumReceive = 1024;

    private readonly Socket _socket;
    private readonly SafeSocketHandle? _handle; // on the event loop: receives go straight to libc
    private readonly int _initialSize;
    private readonly Action _onReceived;
    private readonly SocketEvents? _events;
    private readonly Action<Exception?>? _onReadable;
    private readonly bool _lendBuffer;
    private byte[] _buffer; // empty while lent back
    private int _start;    // first unconsumed byte
    private int _end;      // end of the received bytes
    private int _examined; // the caller has looked at everything before this
    private bool _ended;   // the peer closed its side
    private bool _completed;
    private bool _cancelNext;
    private ValueTask<int> _receive;
    /// <summary>Whether the reader holds a receive buffer now (one that lends it holds none while it waits with nothing unread).</summary>
    internal bool HoldsBuffer => _buffer.Length > 0;

    /// <summary>For tests: runs when a read found nothing and is about to wait for the loop's report.</summary>
    internal Action? BeforeWait { get; set; }

    private bool _mayHaveMore; // the last receive filled the free space: more may be queued
    private CancellationToken _readableToken;
    private ManualResetValueTaskSourceCore<ReadResult> _core; // continuations run on the completing thread

    /// <param name="lendBuffer">
    /// Give the buffer back while waiting with nothing unread (only on the loop, and only for a
    /// buffer of <see cref="EventLoop.LentBufferSize"/> bytes).
    /// </param>
    public SocketReader(Socket socket, int bufferSize, SocketEvents? events, bool lendBuffer = false)
    {
        _socket = socket;
        _handle = events is null ? null : socket.SafeHandle;
        _initialSize = bufferSize;
        _lendBuffer = lendBuffer && events is not null && bufferSize == EventLoop.LentBufferSize;
        _buffer = _lendBuffer ? [] : new byte[bufferSize];
        _onReceived = OnReceived;
        _events = events;
        if (events is not null)
        {
            _onReadable = OnReadable;
            events.Reader = this;
        }
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (_completed)
            throw new InvalidOperationException("the reader was completed");
        if (TryRead(out var ready))
            return new ValueTask<ReadResult>(ready);
        cancellationToken.ThrowIfCancellationRequested();
        MakeRoom();
        if (_events is { } events)
            return ReadWhenReady(events, cancellationToken);
        ValueTask<int> receive;
        try
        {
            receive = _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
        }
        catch (SocketException e)
        {
            throw AsIOException(e);
        }
        if (receive.IsCompleted)
            return new ValueTask<ReadResult>(Received(receive));
        _receive = receive;
        _core.Reset();
        receive.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onReceived);
        return new ValueTask<ReadResult>(this, _core.Version);
    }

    private ValueTask<ReadResult> ReadWhenReady(SocketEvents events, CancellationToken cancellationToken)
    {
        _readableToken = cancellationToken;
        _core.Reset(); // before parking: the loop may finish the read before this returns
        return ReceiveOrPark(_mayHaveMore || events.Readable.TakeReady(), out var result)
            ? new ValueTask<ReadResult>(result)
            : new ValueTask<ReadResult>(this, _core.Version);
    }

    /// <summary>The loop reported data (on its thread): receive it and run the reader's caller.</summary>
    private void OnReadable(Exception? error)
    {
        if (error is not null)
        {
            _core.SetException(error); // closed, or the read's token cancelled
            return;
        }
        ReadResult result;
        try
        {
            if (!ReceiveOrPark(attempt: true, out result))
                return;
        }
        catch (Exception e)
        {
            _core.SetException(e);
            return;
        }
        _core.SetResult(result);
    }

    /// <summary>
    /// Receives (first only if <paramref name="attempt"/>), else waits for the loop's report: true
    /// with the bytes, or false once parked (<see cref="OnReadable"/> finishes the read).
    /// </summary>
    private bool ReceiveOrPark(bool attempt, out ReadResult result)
    {
        while (true)
        {
            if (attempt && TryReceive(out result))
                return true;
            if (_lendBuffer && _start == _end)
                GiveBackBuffer();
            BeforeWait?.Invoke();
            if (!_events!.Readable.Park(_onReadable!, _readableToken))
            {
                result = default;
                return false;
            }
            attempt = true; // reported meanwhile, and taken by Park: try again
        }
    }

    /// <summary>One non-blocking receive into the free space; false when nothing was queued.</summary>
    private bool TryReceive(out ReadResult result)
    {
        if (_buffer.Length == 0)
            TakeBuffer();
        var free = _buffer.Length - _end;
        int count;
        SocketError error;
        try
        {
            count = NativeSocket.Receive(_handle!, _buffer.AsSpan(_end, free), out error);
        }
        catch (ObjectDisposedException)
        {
            throw new IOException("Unable to read data from the transport connection: the connection was closed.");
        }
        if (error == SocketError.WouldBlock)
        {
            _mayHaveMore = false;
            result = default;
            return false;
        }
        if (error != SocketError.Success)
            throw AsIOException(new SocketException((int)error));
        // Less than asked for: the queue is empty now, and the kernel reports new data (but not an
        // end it already reported, hence EndPending).
        _mayHaveMore = count > 0 && (count == free || _events!.EndPending);
        if (count == 0)
            _ended = true;
        _end += count;
        result = new ReadResult(Unread, isCanceled: false, isCompleted: _ended);
        return true;
    }

    public override bool TryRead(out ReadResult result)
    {
        if (_cancelNext)
        {
            _cancelNext = false;
            result = new ReadResult(Unread, isCanceled: true, isCompleted: _ended);
            return true;
        }
        if (_end > _examined || _ended)
        {
            result = new ReadResult(Unread, isCanceled: false, isCompleted: _ended);
            return true;
        }
        result = default;
        return false;
    }

    private ReadOnlySequence<byte> Unread => new(_buffer, _start, _end - _start);

    private void OnReceived()
    {
        var receive = _receive;
        _receive = default;
        ReadResult result;
        try
        {
            result = Received(receive);
        }
        catch (Exception e)
        {
            _core.SetException(e);
            return;
        }
        _core.SetResult(result);
    }

    private ReadResult Received(ValueTask<int> receive)
    {
        int count;
        try
        {
            count = receive.GetAwaiter().GetResult();
        }
        catch (SocketException e)
        {
            throw AsIOException(e);
        }
        if (count == 0)
            _ended = true;
        _end += count;
        return new ReadResult(Unread, isCanceled: false, isCompleted: _ended);
    }

    /// <summary>Fetches into the CPU's cache the unread bytes' buffer (a hint; see <see cref="Prefetch"/>).</summary>
    internal void Warm() => Prefetch.Object(_buffer, lines: 2);

    /// <summary>Whose loop reads here (the client's session), for <see cref="WarmResume"/>.</summary>
    internal object? Owner { get; set; }

    private object? _resumes; // what a read's completion resumes (the owner's loop), for WarmResume

    /// <summary>Fetches into the CPU's cache what a receive and the read's caller touch next (a hint).</summary>
    internal void WarmResume()
    {
        Prefetch.Object(_handle);
        Prefetch.Object(_resumes, lines: 6);
        Prefetch.Object(Owner, lines: 6);
    }

    /// <summary>A lent buffer from the socket's loop (also on another thread).</summary>
    private void TakeBuffer() => _buffer = _events!.Loop.RentBuffer();

    /// <summary>Nothing is unread: the buffer goes back to the socket's loop (also from another thread).</summary>
    private void GiveBackBuffer()
    {
        var buffer = _buffer;
        _buffer = [];
        _start = _end = _examined = 0;
        if (buffer.Length != EventLoop.LentBufferSize)
            return; // grown for a long message: left to the collector
        _events!.Loop.ReturnBuffer(buffer);
    }

    /// <summary>
    /// The owner reads no more (its client sent Terminate or hung up): a lent buffer goes back to the
    /// loop now, not to the collector with the connection, and what it held unread is dropped. Only
    /// between reads: a read waiting for the loop's report would receive into it.
    /// </summary>
    internal void ReleaseBuffer()
    {
        if (_lendBuffer && _buffer.Length > 0)
            GiveBackBuffer();
    }

    /// <summary>Frees space at the end of the buffer: moves the unread bytes to the front, or grows it when they fill it.</summary>
    private void MakeRoom()
    {
        if (_buffer.Length - _end >= MinimumReceive || _buffer.Length == 0) // (a lent-back buffer is taken at the receive)
            return;
        var unread = _end - _start;
        var target = _buffer;
        if (_buffer.Length - unread < MinimumReceive)
            target = new byte[Math.Max(_buffer.Length * 2, unread + MinimumReceive)];
        Buffer.BlockCopy(_buffer, _start, target, 0, unread);
        _buffer = target;
        _examined -= _start;
        _start = 0;
        _end = unread;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        var to = Index(consumed);
        var seen = Index(examined);
        if (to < _start || to > _end || seen < to || seen > _end)
            throw new ArgumentOutOfRangeException(nameof(consumed), "the position is not in the last buffer read");
        _start = to;
        _examined = seen;
        if (_start == _end)
        {
            _start = _end = _examined = 0;
            if (_buffer.Length > _initialSize)
                _buffer = _lendBuffer ? [] : new byte[_initialSize]; // a long message has passed: back to the usual size
        }
    }

    private int Index(SequencePosition position)
    {
        if (position.GetObject() is not { } owner)
            return _start; // default(SequencePosition): the start of an empty buffer
        if (!ReferenceEquals(owner, _buffer))
            throw new ArgumentOutOfRangeException(nameof(position), "the position is not in the last buffer read");
        return position.GetInteger();
    }

    /// <summary>The next read returns at once with <see cref="ReadResult.IsCanceled"/> (a receive already waiting is not interrupted).</summary>
    public override void CancelPendingRead() => _cancelNext = true;

    public override void Complete(Exception? exception = null) => _completed = true;

    /// <summary>As <see cref="NetworkStream"/> reports socket failures, which the loops above expect.</summary>
    private static IOException AsIOException(SocketException e) =>
        new($"Unable to read data from the transport connection: {e.Message}.", e);

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token,
        ValueTaskSourceOnCompletedFlags flags)
    {
        _resumes = state;
        _core.OnCompleted(continuation, state, token, flags);
    }
}
