using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Pooler.Core.Servers;
using Pooler.Protocol;
using Xunit;

namespace Pooler.Core.Tests.Servers;

/// <summary>
/// A server connection's release at the end of a transaction, against a peer on loopback that
/// speaks PostgreSQL's side (it answers every query with EmptyQueryResponse and ReadyForQuery).
/// </summary>
public sealed class ServerReleaseTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_connection_goes_back_once_the_answer_is_whole_while_its_client_is_still_being_sent_it()
    {
        // The last flush of an answer to a client can wait: for the end of an event loop's batch,
        // or for a client that reads slowly. The server has nothing more to say by then, so the
        // connection goes back at once and the sink hears of the flush when it completes.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var postgres = Task.Run(() => LoopbackPostgres.ServeAsync(listener));
        var target = LoopbackPostgres.Target(listener, Limit);
        var server = await ServerConnection.ConnectAsync(target, CancellationToken.None);
        var client = new SlowClient();
        server.Attach(client);
        Query.Write(server.Output, ";");
        await server.Output.FlushAsync();

        Assert.True(await CompletesAsync(client.Released), "the connection was not released while its client's flush waited");
        Assert.False(client.LastFlush.IsCompleted, "the release did not carry the flush still under way");
        Assert.Equal(1, client.Answers);

        // Meanwhile the connection serves its next user.
        var next = server.RunInternalAsync(";", CancellationToken.None);
        Assert.True(await CompletesAsync(next), "the connection did not serve another query while the first client's flush waited");

        client.FinishFlush();
        Assert.True(client.LastFlush.IsCompletedSuccessfully);
        await server.DisposeAsync();
        await postgres.WaitAsync(Limit);
    }

    /// <summary>A client whose socket takes nothing until the test lets it: every flush waits.</summary>
    private sealed class SlowClient : IServerSink
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<FlushResult> _flush = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Released => _released.Task;
        public Task LastFlush { get; private set; } = Task.CompletedTask;
        public int Answers { get; private set; }

        public void FinishFlush() => _flush.TrySetResult(new FlushResult());

        public void Write(in ReadOnlySequence<byte> bytes)
        {
        }

        public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken) => new(_flush.Task);

        public ReadyAction OnReadyForQuery(TransactionStatus status)
        {
            Answers++;
            return ReadyAction.ForwardAndRelease;
        }

        public void OnReleased(ValueTask<FlushResult> lastFlush)
        {
            LastFlush = lastFlush.AsTask();
            _released.TrySetResult();
        }

        public void OnRefused() => throw new InvalidOperationException("refused");
        public void OnServerLost(string reason) => _released.TrySetException(new IOException(reason));
    }

    private static async Task<bool> CompletesAsync(Task task) => await Task.WhenAny(task, Task.Delay(Limit)) == task;
}
