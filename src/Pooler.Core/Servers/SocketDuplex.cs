using System.IO.Pipelines;
using System.Net.Sockets;

namespace Pooler.Core.Servers;

/// <summary>
/// A server connection's socket as a reader and a writer that work on the caller's thread: a read
/// is a receive into the reader's buffer, a flush is a send. (Kestrel's socket transport puts a
/// pipe and a pump loop on each side instead: two more hand-offs per message, for nothing a
/// connection with one reader and one writer at a time needs.)
/// </summary>
internal sealed class SocketDuplex : IAsyncDisposable
{
    private const int BufferSize = 16 * 1024;
    private readonly NetworkStream _stream;
    private int _disposed;

    public SocketDuplex(Socket socket)
    {
        _stream = new NetworkStream(socket, ownsSocket: true);
        LocalEndPoint = socket.LocalEndPoint;
        Input = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: BufferSize, minimumReadSize: 1024, leaveOpen: true));
        Output = PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: BufferSize, leaveOpen: true));
    }

    public System.Net.EndPoint? LocalEndPoint { get; }
    public PipeReader Input { get; }
    public PipeWriter Output { get; }

    /// <summary>Closes the socket; a read or a send in progress fails, and its loop ends.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            _stream.Dispose();
        return ValueTask.CompletedTask;
    }
}
