using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Pooler.Core.Servers;

/// <summary>
/// A socket's send side as a <see cref="PipeWriter"/>: writes gather in a buffer and a flush sends
/// them with one non-blocking send on the caller's thread; only when the socket cannot take them
/// all (the peer reads slowly) does the flush wait for an asynchronous send of the rest. A client
/// connection's flush on an event loop's thread waits for the end of the loop's batch of events,
/// and sends then (<see cref="EventLoop"/>): its continuation runs there, right after the send.
/// A server connection's flush sends at once (<c>clientConnection</c> false): the server is what
/// the clients wait in line for, and a query held to the end of the batch leaves it idle.
/// <see cref="Send"/> skips the buffer: bytes go out at once when nothing is waiting before them.
/// The socket must be non-blocking (<see cref="Socket.Blocking"/> false). One writer at a time,
/// and a flush must complete before the next write, as for any pipe.
/// </summary>
internal sealed class SocketWriter(Socket socket, int minimumBufferSize, bool clientConnection, SocketEvents? events)
    : PipeWriter, IValueTaskSource<FlushResult>
{
    /// <summary>Bytes up to this many, sent on an event loop's thread, wait for the end of its batch.</summary>
    private const int DeferLimit = 16 * 1024;

    private ManualResetValueTaskSourceCore<FlushResult> _deferredFlush;
    private int _deferred; // 1 while a flush waits for the end of the loop's batch

    private byte[]? _buffer;
    private EventLoop? _bufferLoop; // the loop _buffer was rented from (else it came from the shared pool)
    private int _sent;    // bytes of the buffer already sent
    private int _written; // bytes of the buffer written so far
    private bool _completed;
    private readonly SafeSocketHandle? _handle = events is null ? null : socket.SafeHandle; // on the event loop: sends go straight to libc

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _written - _sent;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public override void Advance(int bytes)
    {
        if (bytes < 0 || _buffer is null || bytes > _buffer.Length - _written)
            throw new ArgumentOutOfRangeException(nameof(bytes));
        _written += bytes;
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> and sends them now if nothing written earlier waits to be
    /// sent; what the socket cannot take at once is kept for the next flush. For a client
    /// connection on an event loop's thread, up to <see cref="DeferLimit"/> bytes are only written:
    /// the flush that must follow sends them at the end of the loop's batch.
    /// </summary>
    public void Send(ReadOnlySpan<byte> bytes)
    {
        if (_written == _sent && !_completed && (bytes.Length > DeferLimit || DeferringLoop is null))
        {
            var sent = SendNow(bytes);
            bytes = bytes[sent..];
            if (bytes.IsEmpty)
                return;
        }
        bytes.CopyTo(GetSpan(bytes.Length));
        _written += bytes.Length;
    }

    /// <summary>The loop whose batch a flush from this thread waits for: a client connection's, on its loop's thread; else null.</summary>
    private EventLoop? DeferringLoop => clientConnection && events is not null ? EventLoop.Current : null;

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_written > _sent)
        {
            if (_deferred == 0 && DeferringLoop is { } loop)
            {
                _deferredFlush.Reset();
                Volatile.Write(ref _deferred, 1);
                loop.Defer(this);
                return new ValueTask<FlushResult>(this, _deferredFlush.Version);
            }
            _sent += SendNow(_buffer.AsSpan(_sent, _written - _sent));
            if (_written > _sent)
                return FlushRestAsync(cancellationToken);
        }
        Sent();
        return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false));
    }

    /// <summary>
    /// Sends a deferred flush's bytes now and completes it (its continuation runs here): at the end
    /// of the loop's batch, or when the socket is about to close. Whoever comes first does it.
    /// </summary>
    internal void SendDeferred()
    {
        if (Interlocked.Exchange(ref _deferred, 0) == 0)
            return;
        try
        {
            if (_written > _sent && !_completed)
            {
                _sent += SendNow(_buffer.AsSpan(_sent, _written - _sent));
                if (_written > _sent)
                {
                    _ = FinishDeferredAsync(); // the socket is full: the rest waits for room, as FlushAsync's does
                    return;
                }
            }
            if (_written == _sent)
                Sent();
        }
        catch (Exception e)
        {
            _deferredFlush.SetException(e);
            return;
        }
        _deferredFlush.SetResult(new FlushResult(isCanceled: false, isCompleted: false));
    }

    private async Task FinishDeferredAsync()
    {
        FlushResult result;
        try
        {
            result = await FlushRestAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            _deferredFlush.SetException(e);
            return;
        }
        _deferredFlush.SetResult(result);
    }

    FlushResult IValueTaskSource<FlushResult>.GetResult(short token) => _deferredFlush.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<FlushResult>.GetStatus(short token) => _deferredFlush.GetStatus(token);

    void IValueTaskSource<FlushResult>.OnCompleted(Action<object?> continuation, object? state, short token,
        ValueTaskSourceOnCompletedFlags flags) => _deferredFlush.OnCompleted(continuation, state, token, flags);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FlushResult> FlushRestAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (events is null)
            {
                while (_written > _sent)
                    _sent += await socket.SendAsync(_buffer.AsMemory(_sent, _written - _sent), SocketFlags.None, cancellationToken);
            }
            else
            {
                // The socket's send queue is full: wait for the loop to report room, then send what fits.
                while (_written > _sent)
                {
                    await events.Writable.WaitAsync(cancellationToken).ConfigureAwait(false);
                    _sent += SendNow(_buffer.AsSpan(_sent, _written - _sent));
                }
            }
        }
        catch (SocketException e)
        {
            throw AsIOException(e);
        }
        Sent();
        return new FlushResult(isCanceled: false, isCompleted: false);
    }

    /// <summary>One non-blocking send: how many bytes the socket took (0 when it would block).</summary>
    private int SendNow(ReadOnlySpan<byte> bytes)
    {
        var sent = _handle is not null
            ? NativeSocket.Send(_handle, bytes, out var error)
            : socket.Send(bytes, SocketFlags.None, out error);
        if (error is SocketError.Success or SocketError.WouldBlock)
            return error == SocketError.Success ? sent : 0;
        throw AsIOException(new SocketException((int)error));
    }

    /// <summary>Everything written went out: the buffer starts over (a client connection gives it back).</summary>
    private void Sent()
    {
        _sent = _written = 0;
        if (clientConnection && _buffer is { } buffer)
        {
            _buffer = null;
            GiveBack(buffer);
        }
    }

    private void GiveBack(byte[] buffer)
    {
        if (_bufferLoop is { } loop)
        {
            _bufferLoop = null;
            loop.ReturnBuffer(buffer);
            return;
        }
        ArrayPool<byte>.Shared.Return(buffer);
    }

    private void Ensure(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        if (_buffer is not null && _buffer.Length - _written >= needed)
            return;
        if (_completed)
            throw new InvalidOperationException("the writer was completed");
        var pending = _written - _sent;
        var size = Math.Max(minimumBufferSize, pending + needed);
        if (_buffer is not null && _buffer.Length >= size)
        {
            // Room at the front: the unsent bytes move there.
            _buffer.AsSpan(_sent, pending).CopyTo(_buffer);
        }
        else if (_buffer is null && clientConnection && size <= EventLoop.LentBufferSize && events?.Loop is { } loop)
        {
            _buffer = loop.RentBuffer();
            _bufferLoop = loop;
        }
        else
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(size, (_buffer?.Length ?? 0) * 2));
            if (_buffer is { } old)
            {
                old.AsSpan(_sent, pending).CopyTo(larger);
                GiveBack(old);
            }
            _buffer = larger;
        }
        _sent = 0;
        _written = pending;
    }

    public override void CancelPendingFlush()
    {
        // A flush waits only for the socket; closing the socket ends it.
    }

    /// <summary>Ends writing: what is still buffered is sent if the socket takes it at once.</summary>
    public override void Complete(Exception? exception = null)
    {
        if (_completed)
            return;
        SendDeferred();
        try
        {
            if (_written > _sent)
                _sent += SendNow(_buffer.AsSpan(_sent, _written - _sent));
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The peer is gone: nothing more to send.
        }
        _completed = true;
    }

    /// <summary>Ends writing after sending everything still buffered.</summary>
    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        if (_completed)
            return;
        try
        {
            await FlushAsync();
        }
        finally
        {
            _completed = true;
        }
    }

    private static IOException AsIOException(SocketException e) =>
        new($"Unable to write data to the transport connection: {e.Message}.", e);

    /// <summary>Writes through <see cref="Send"/> when <paramref name="writer"/> is a socket's, else into the writer.</summary>
    public static void SendOrWrite(PipeWriter writer, ReadOnlySpan<byte> bytes)
    {
        if (writer is SocketWriter socketWriter)
            socketWriter.Send(bytes);
        else
            writer.Write(bytes);
    }
}
