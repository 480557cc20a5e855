using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Pooler.Core.Cluster;
using Pooler.Core.Servers;
using Pooler.Core.Wire;
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
            await using var stream = new NetworkStream(socket);
            var input = PipeReader.Create(stream);
            var output = PipeWriter.Create(stream);
            RelayHandshake.WriteNonce(output, new byte[RelayHandshake.NonceLength]);
            await output.FlushAsync();
            var handshake = await PipeMessages.ReadAsync(input, 1 << 20, CancellationToken.None);
            Assert.Equal(RelayHandshake.HandshakeType, handshake?.Type);
            AuthenticationRequest.Ok.WriteTo(output);
            new BackendKeyData(42, 7).WriteTo(output);
            ReadyForQuery.Write(output, TransactionStatus.Idle);
            new ParameterStatus(RelayHandshake.ReleaseParameter, "now").WriteTo(output);
            await output.FlushAsync(); // one send: one packet
            while (await PipeMessages.ReadAsync(input, 1 << 20, CancellationToken.None) is not null)
            {
            }
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
        public void OnReleased(ValueTask<FlushResult> lastFlush) => _released.TrySetResult();
        public void OnRefused() => throw new InvalidOperationException("refused");
        public void OnServerLost(string reason) => Lost = true;

        public ReadyAction OnRelayRelease()
        {
            _asked.TrySetResult();
            return ReadyAction.ForwardAndRelease;
        }
    }

    private static async Task<bool> CompletesAsync(Task task) => await Task.WhenAny(task, Task.Delay(Limit)) == task;
}
