using System.Buffers;
using System.Net.Sockets;
using Pooler.Protocol;

namespace Pooler.Core.Servers;

/// <summary>Sends PostgreSQL a CancelRequest for one backend, on a connection of its own (protocol §55.2.8).</summary>
public static class PostgresCancel
{
    public static async Task SendAsync(string host, int port, BackendKeyData key, TimeSpan timeout)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var deadline = new CancellationTokenSource(timeout);
        await socket.ConnectAsync(host, port, deadline.Token);
        var writer = new ArrayBufferWriter<byte>();
        new CancelRequest(key.ProcessId, key.SecretKey).WriteTo(writer);
        await socket.SendAsync(writer.WrittenMemory, deadline.Token);
        // PostgreSQL closes the connection once it has read the request.
        await socket.ReceiveAsync(new byte[1], deadline.Token);
    }
}
