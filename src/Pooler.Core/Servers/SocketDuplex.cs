using System.IO.Pipelines;
using System.Net;
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

    private readonly SocketEvents? _events;
    private int _disposed;

    /// <param name="socket">A connected socket; it is made non-blocking.</param>
    /// <param name="bufferSize">The receive buffer (held for the connection's life) and the send buffer's least size.</param>
    /// <param name="clientConnection">
    /// A client's connection: its buffers go back while it is quiet (the send buffer once sent, and
    /// on the loop the receive buffer while nothing is unread), and its flushes on the loop wait for
    /// the end of the batch. A server's connection keeps its buffers and sends at once.
    /// </param>
    /// <param name="events">The socket's registration with the pooler's epoll loop, if made already (see <see cref="ConnectAsync"/>).</param>
    /// <param name="eventLoop">Use the pooler's epoll loop where it runs (false: .NET's socket engine, for tests).</param>
    public SocketDuplex(Socket socket, int bufferSize = ServerBufferSize, bool clientConnection = false, SocketEvents? events = null,
        bool eventLoop = true)
    {
        socket.Blocking = false;
        Socket = socket;
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        _events = events ?? (eventLoop ? EventLoop.Register(socket, server: !clientConnection) : null);
        Input = new SocketReader(socket, bufferSize, _events, lendBuffer: clientConnection);
        Output = new SocketWriter(socket, bufferSize, clientConnection, _events);
    }

    /// <summary>
    /// Connects to <paramref name="host"/> (each of its addresses in turn) without .NET's socket
    /// engine when the pooler's loop is in use: a socket that engine has seen once stays in its epoll
    /// set, and each of its events would wake the engine's thread as well.
    /// </summary>
    /// <exception cref="SocketException">No address took the connection.</exception>
    public static async Task<SocketDuplex> ConnectAsync(string host, int port, CancellationToken cancellationToken, bool eventLoop = true)
    {
        if (EventLoop.Loops is null || !eventLoop)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(host, port, cancellationToken);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            return new SocketDuplex(socket, eventLoop: eventLoop);
        }
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken);
        if (addresses.Length == 0)
            throw new SocketException((int)SocketError.HostNotFound);
        for (var i = 0; ; i++)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, Blocking = false };
            SocketEvents? events = null;
            try
            {
                try
                {
                    socket.Connect(addresses[i], port);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
                {
                    // Registered only now: before connect() the kernel reports an unconnected socket as hung up.
                    events = EventLoop.Register(socket, server: true)!;
                    while (!socket.Poll(0, SelectMode.SelectWrite))
                        await events.Writable.WaitAsync(cancellationToken).ConfigureAwait(false);
                    var error = (SocketError)(int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
                    if (error != SocketError.Success)
                        throw new SocketException((int)error);
                }
                return new SocketDuplex(socket, events: events);
            }
            catch (Exception e)
            {
                events?.Close();
                socket.Dispose();
                if (e is not SocketException || i == addresses.Length - 1)
                    throw;
                // Refused or unreachable: the next address may answer.
            }
        }
    }

    public Socket Socket { get; }

    /// <summary>The socket's registration with the pooler's epoll loop (null on .NET's socket engine).</summary>
    internal SocketEvents? Events => _events;
    public System.Net.EndPoint? LocalEndPoint { get; }
    public System.Net.EndPoint? RemoteEndPoint { get; }
    public PipeReader Input { get; }
    public PipeWriter Output { get; }

    /// <summary>Closes the socket; a read or a send in progress fails, and its loop ends.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // A flush deferred to the end of the loop's batch (a goodbye, an error) goes out first.
            ((SocketWriter)Output).SendDeferred();
            Socket.Dispose();
            _events?.Close();
        }
        return ValueTask.CompletedTask;
    }
}
