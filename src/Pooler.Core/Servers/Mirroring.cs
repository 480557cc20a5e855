using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using Pooler.Protocol;

namespace Pooler.Core.Servers;

/// <summary>
/// A copy of one server connection's traffic for a mirror server (<c>mirrors = [[host, port,
/// server_index]]</c>): every byte written to the server is offered to the mirror's own connection,
/// whose answers are thrown away. Fire-and-forget: the copy is queued without waiting; when the
/// mirror is slow or gone the queue fills and the mirror connection is dropped, and the real
/// traffic neither waits nor fails.
/// </summary>
public sealed class MirrorConnection : IAsyncDisposable
{
    private const int QueuedChunks = 1024;
    private readonly Channel<byte[]> _queue = Channel.CreateBounded<byte[]>(
        new BoundedChannelOptions(QueuedChunks) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly ServerConnection _connection;
    private int _dropped;

    private MirrorConnection(ServerConnection connection)
    {
        _connection = connection;
        connection.Attach(DiscardSink.Instance);
        _ = PumpAsync();
    }

    public string Target => _connection.Target.ToString();

    /// <summary>Logs in to the mirror as the server connection's user; throws what ServerConnection.ConnectAsync throws.</summary>
    public static async Task<MirrorConnection> ConnectAsync(ServerTarget target, CancellationToken cancellationToken) =>
        new(await ServerConnection.ConnectAsync(target, cancellationToken));

    /// <summary>A copy of bytes just written to the server (by whoever writes to it). Never blocks.</summary>
    public void Offer(ReadOnlySpan<byte> bytes)
    {
        if (Volatile.Read(ref _dropped) != 0 || bytes.IsEmpty)
            return;
        if (!_queue.Writer.TryWrite(bytes.ToArray()))
        {
            // The mirror fell behind: its stream would be cut mid-message, so it goes.
            Interlocked.Exchange(ref _dropped, 1);
            _queue.Writer.TryComplete();
        }
    }

    private async Task PumpAsync()
    {
        try
        {
            await foreach (var chunk in _queue.Reader.ReadAllAsync())
            {
                _connection.Output.Write(chunk);
                if (_queue.Reader.Count == 0)
                    await _connection.Output.FlushAsync();
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The mirror went away: nothing to tell anyone.
        }
        Interlocked.Exchange(ref _dropped, 1);
        await _connection.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _dropped, 1);
        _queue.Writer.TryComplete();
        await _connection.DisposeAsync();
    }

    /// <summary>Where a mirror's answers go: nowhere.</summary>
    private sealed class DiscardSink : IServerSink
    {
        public static readonly DiscardSink Instance = new();

        public void Write(in ReadOnlySequence<byte> bytes)
        {
        }

        public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken) => new(new FlushResult(false, false));

        public ReadyAction OnReadyForQuery(TransactionStatus status) => ReadyAction.Forward;

        public void OnReleased(ValueTask<FlushResult> lastFlush)
        {
        }

        public void OnRefused()
        {
        }

        public void OnServerLost(string reason)
        {
        }
    }
}

/// <summary>A server connection's writer that also offers every byte it writes to the connection's mirrors.</summary>
internal sealed class MirroringWriter(PipeWriter inner, IReadOnlyList<MirrorConnection> mirrors) : PipeWriter
{
    private Memory<byte> _current;

    public override Memory<byte> GetMemory(int sizeHint = 0) => _current = inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => (_current = inner.GetMemory(sizeHint)).Span;

    public override void Advance(int bytes)
    {
        var written = _current.Span[..bytes];
        foreach (var mirror in mirrors)
            mirror.Offer(written);
        _current = _current[bytes..];
        inner.Advance(bytes);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
}
