using System.IO.Pipelines;
using System.Net.Sockets;

namespace Pooler.Core.Servers;

/// <summary>
/// A connected socket as a reader and a writer that work on the caller's thread: a read is a
/// receive into the connection's buffer (<see cref="SocketReader"/>), a flush is a non-blocking send
/// (<see cref="SocketWriter"/>). Kestrel's socket transport puts a pipe and a pump loop on each
/// side instead, and a stream-based pipe a buffer rented per read and a state machine per call: per
/// transaction several hand-offs for nothing a connection with one reader and one writer needs.
/// </summary>
internal sealed class SocketDuplex : IAsyncDisposable, IDuplexPipe
{
    /// <summary>A server connection's buffers: results of any size stream through it.</summary>
    public const int ServerBufferSize = 16 * 1024;

    private int _disposed;

    /// <param name="socket">A connected socket; it is made non-blocking.</param>
    /// <param name="bufferSize">The receive buffer (held for the connection's life) and the send buffer's least size.</param>
    /// <param name="keepSendBuffer">Keep the send buffer between flushes (else it goes back to the pool once sent).</param>
    public SocketDuplex(Socket socket, int bufferSize = ServerBufferSize, bool keepSendBuffer = true)
    {
        socket.Blocking = false;
        Socket = socket;
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        Input = new SocketReader(socket, bufferSize);
        Output = new SocketWriter(socket, bufferSize, keepSendBuffer);
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
            Socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
