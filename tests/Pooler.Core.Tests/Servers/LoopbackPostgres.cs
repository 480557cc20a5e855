using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Pooler.Core.Servers;
using Pooler.Core.Wire;
using Pooler.Protocol;

namespace Pooler.Core.Tests.Servers;

/// <summary>
/// A peer on loopback that speaks PostgreSQL's side just enough for a <see cref="ServerConnection"/>:
/// it takes one connection, logs it in, and answers every query with EmptyQueryResponse and ReadyForQuery.
/// </summary>
internal static class LoopbackPostgres
{
    public static ServerTarget Target(TcpListener listener, TimeSpan timeout) =>
        new("alice", "127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port, "app", "alice", null, timeout, 1 << 20);

    public static async Task ServeAsync(TcpListener listener)
    {
        using var socket = await listener.AcceptSocketAsync();
        await using var stream = new NetworkStream(socket);
        var length = new byte[4];
        await stream.ReadExactlyAsync(length);
        await stream.ReadExactlyAsync(new byte[BinaryPrimitives.ReadInt32BigEndian(length) - 4]); // the startup packet
        var input = PipeReader.Create(stream);
        var output = PipeWriter.Create(stream);
        AuthenticationRequest.Ok.WriteTo(output);
        new BackendKeyData(42, 7).WriteTo(output);
        ReadyForQuery.Write(output, TransactionStatus.Idle);
        await output.FlushAsync();
        while (await PipeMessages.ReadAsync(input, 1 << 20, CancellationToken.None) is { } message)
        {
            if (message.Type != FrontendMessageType.Query)
                continue;
            EmptyQueryResponse.Write(output);
            ReadyForQuery.Write(output, TransactionStatus.Idle);
            await output.FlushAsync();
        }
    }
}
