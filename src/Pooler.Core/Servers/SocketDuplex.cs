using System.IO.Pipelines;
using System.Net.Sockets;

namespace Pooler.Core.Servers;

/// <summary>
/// A server connection's socket as a reader and a writer that work on the caller's thread: a read
/// is a receive into the reader's buffer, a flush is a send. (Kestrel's socket transport puts a
/// pipe and a pump loop on each side instead: two more hand-offs per message, for nothing a
/// connection with one reader and one writer at a time needs.)
/// </summary>
internal sealed class SocketDuplex : IAsyncDisposable, IDuplexPipe
{
    /// <summary>A server connection's buffers: results of any size stream through it.</summary>
    public const int ServerBufferSize = 16 * 1024;

    private readonly NetworkStream _stream;
    private int _disposed;

    public SocketDuplex(Socket socket, int bufferSize = ServerBufferSize)
    {
        _stream = new NetworkStream(socket, ownsSocket: true);
        Socket = socket;
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        Input = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: bufferSize, minimumReadSize: Math.Min(1024, bufferSize), leaveOpen: true));
        Output = PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: bufferSize, leaveOpen: true));
    }

    public Socket Socket { get; }
    public System.Net.EndPoint? LocalEndPoint { get; }
    public System.Net.EndPoint? RemoteEndPoint { get; }
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
