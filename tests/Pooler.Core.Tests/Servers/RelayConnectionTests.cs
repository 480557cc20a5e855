using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Pooler.Core.Cluster;
using Pooler.Core.Servers;
using Pooler.Protocol;
using Xunit;

namespace Pooler.Core.Tests.Servers;

/// <summary>
/// An entry node's relay to the node that owns a pool, against a peer on loopback that speaks the
/// owner's side of the relay handshake.
/// </summary>
public sealed class RelayConnectionTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_release_sent_right_behind_the_login_reaches_the_lease()
    {
        // An owner that begins to shut down as the relay's login ends asks for the relay back at
        // once: the request can arrive in the same packet as the login's ReadyForQuery. It must
        // reach the lease (the entry gives the relay up), not be read as a message nobody asked for;
        // else the entry keeps the relay and the owner waits for it until shutdown_timeout.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var owner = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            await socket.SendAsync(Message(RelayHandshake.NonceType, new byte[RelayHandshake.NonceLength]));
            await ReadMessageAsync(socket, RelayHandshake.HandshakeType);
            var login = new List<byte>();
            login.AddRange(Message((byte)'R', [0, 0, 0, 0]));                     // AuthenticationOk
            login.AddRange(Message((byte)'K', [0, 0, 0, 42, 0, 0, 0, 7]));        // BackendKeyData
            login.AddRange(Message((byte)'Z', [(byte)'I']));                      // ReadyForQuery
            login.AddRange(Message((byte)'S', [.. CString(RelayHandshake.ReleaseParameter), .. CString("now")]));
            await socket.SendAsync(login.ToArray());                              // one send: one packet
            await ReadUntilClosedAsync(socket);
        });

        var target = new ServerTarget("alice", "127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port, "app", "alice", null,
            Limit, 1 << 20)
        {
            Relay = new RelayHandshake("app", "alice", new Dictionary<string, string>(), "akka.tcp://pooler@127.0.0.1:1", "c1",
                "127.0.0.1", 1),
            RelaySecret = "secret",
        };
        var sink = new ReleaseSink();
        var relay = await ServerConnection.ConnectAsync(target, CancellationToken.None, lend: _ => sink);

        Assert.True(await CompletesAsync(sink.ReleaseAsked), "the owner's release request never reached the lease");
        Assert.True(await CompletesAsync(sink.Released), "the relay was not given up");
        Assert.False(sink.Lost, "the relay was reported lost");
        await relay.DisposeAsync();
        await owner.WaitAsync(Limit);
    }

    /// <summary>A lease between transactions: it gives the relay up when asked.</summary>
    private sealed class ReleaseSink : IServerSink
    {
        private readonly TaskCompletionSource _asked = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task ReleaseAsked => _asked.Task;
        public Task Released => _released.Task;
        public bool Lost { get; private set; }

        public void Write(in ReadOnlySequence<byte> bytes) =>
            throw new InvalidOperationException($"nothing was to be passed to the client, got {bytes.Length} byte(s)");

        public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken) => new(new FlushResult());
        public ReadyAction OnReadyForQuery(TransactionStatus status) => ReadyAction.Forward;
        public void OnReleased() => _released.TrySetResult();
        public void OnRefused() => throw new InvalidOperationException("refused");
        public void OnServerLost(string reason) => Lost = true;

        public ReadyAction OnRelayRelease()
        {
            _asked.TrySetResult();
            return ReadyAction.ForwardAndRelease;
        }
    }

    private static async Task<bool> CompletesAsync(Task task) => await Task.WhenAny(task, Task.Delay(Limit)) == task;

    private static byte[] Message(byte type, byte[] payload)
    {
        var message = new byte[5 + payload.Length];
        message[0] = type;
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), 4 + payload.Length);
        payload.CopyTo(message, 5);
        return message;
    }

    private static byte[] CString(string value) => [.. Encoding.UTF8.GetBytes(value), 0];

    private static async Task ReadMessageAsync(Socket socket, byte expectedType)
    {
        var header = await ReadExactlyAsync(socket, 5);
        Assert.Equal(expectedType, header[0]);
        await ReadExactlyAsync(socket, BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1)) - 4);
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int length)
    {
        var buffer = new byte[length];
        for (var read = 0; read < length;)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read));
            if (n == 0)
                throw new IOException("the relay closed early");
            read += n;
        }
        return buffer;
    }

    private static async Task ReadUntilClosedAsync(Socket socket)
    {
        var buffer = new byte[256];
        while (await socket.ReceiveAsync(buffer) > 0)
        {
        }
    }
}
