using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Pooler.Core.Servers;

namespace Pooler.Core.Clients;

/// <summary>
/// An accepted client socket as the session sees it: a reader and a writer that work on the
/// caller's thread (a read is a receive, a flush is a send), like a server connection's. Kestrel's
/// transport, which Pooler used before, adds a pipe and a pump loop per direction and a one-byte
/// peek before every receive: per transaction two more hand-offs and a system call that a
/// connection with one reader and one writer does not need.
/// </summary>
public sealed class ClientConnection : ConnectionContext
{
    /// <summary>
    /// The receive buffer, held for the connection's life: small, because 10,000 idle clients hold
    /// 10,000 (a longer message takes several receives; one held whole grows it for a moment). The
    /// send buffer is taken from the pool only when a send cannot complete at once.
    /// </summary>
    public const int BufferSize = 4096;

    private static long s_lastId = DateTime.UtcNow.Ticks;
    private readonly SocketDuplex _socket;
    private readonly CancellationTokenSource _closed = new();
    private IFeatureCollection? _features;
    private IDictionary<object, object?>? _items;

    public ClientConnection(Socket socket)
    {
        socket.NoDelay = true;
        _socket = new SocketDuplex(socket, BufferSize, clientConnection: true);
        Transport = _socket;
        ConnectionId = NewId();
    }

    public override string ConnectionId { get; set; }
    public override IDuplexPipe Transport { get; set; }
    public override IFeatureCollection Features => _features ??= new FeatureCollection();
    public override IDictionary<object, object?> Items
    {
        get => _items ??= new Dictionary<object, object?>();
        set => _items = value;
    }

    public override EndPoint? LocalEndPoint
    {
        get => _socket.LocalEndPoint;
        set { }
    }

    public override EndPoint? RemoteEndPoint
    {
        get => _socket.RemoteEndPoint;
        set { }
    }

    public override CancellationToken ConnectionClosed
    {
        get => _closed.Token;
        set { }
    }

    /// <summary>Closes the socket at once; a pending read or send fails and the session ends.</summary>
    public override void Abort(ConnectionAbortedException abortReason) => _ = DisposeAsync();

    /// <summary>Sends what the session wrote and has not flushed, then closes the connection.</summary>
    public async Task CloseAsync()
    {
        try
        {
            await _socket.Output.CompleteAsync();
            _socket.Socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The client is gone already.
        }
        await DisposeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await _socket.DisposeAsync();
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>13 characters of base 32, as Kestrel's connection ids (the logs' "client 0HN…").</summary>
    private static string NewId()
    {
        const string digits = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
        var id = Interlocked.Increment(ref s_lastId);
        return string.Create(13, id, static (chars, value) =>
        {
            for (var i = 12; i >= 0; i--)
            {
                chars[i] = digits[(int)(value & 31)];
                value >>= 5;
            }
        });
    }
}
