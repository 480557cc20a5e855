using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Pooler.Core.Servers;
using Xunit;

namespace Pooler.Core.Tests.Servers;

/// <summary>
/// The socket reader and writer every client and server connection uses, over a real loopback
/// TCP connection: bytes arrive whole and in order however they are split, a message longer than
/// the buffer can be held, a peer that does not read holds a flush back, and a closed peer ends reads.
/// Run twice: on the pooler's epoll loop (the default) and on .NET's socket engine (the fallback).
/// </summary>
public abstract class SocketDuplexTests : IAsyncLifetime
{
    /// <summary>Whether the duplex uses the pooler's epoll loop or .NET's socket engine.</summary>
    protected abstract bool EventLoop { get; }

    private protected const int BufferSize = 4096;

    private Socket _peer = null!;  // the other end, used with plain blocking calls
    private SocketDuplex _duplex = null!;

    private protected Socket Peer => _peer;
    private protected SocketDuplex Duplex => _duplex;
    protected static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    public async Task InitializeAsync()
    {
        (var connecting, _peer) = await SocketPairAsync();
        _duplex = new SocketDuplex(connecting, BufferSize, clientConnection: true, eventLoop: EventLoop);
    }

    /// <summary>Both ends of a loopback TCP connection.</summary>
    private protected static async Task<(Socket Connecting, Socket Accepted)> SocketPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var connecting = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await connecting.ConnectAsync(listener.LocalEndPoint!);
        return (connecting, await listener.AcceptAsync());
    }

    public async Task DisposeAsync()
    {
        await _duplex.DisposeAsync();
        _peer.Dispose();
    }

    [Fact]
    public async Task A_read_waiting_for_data_completes_when_the_peer_sends()
    {
        var read = _duplex.Input.ReadAsync();
        Assert.False(read.IsCompleted);

        _peer.Send("hello"u8);
        var result = await read.AsTask().WaitAsync(Limit);

        Assert.Equal("hello"u8.ToArray(), result.Buffer.ToArray());
        _duplex.Input.AdvanceTo(result.Buffer.End);
    }

    [Fact]
    public async Task Bytes_left_unconsumed_come_back_with_the_next_ones()
    {
        _peer.Send("abc"u8);
        var first = await ReadAtLeastAsync(3);
        // Consume one byte, look at all: the next read must wait for more and return "bc" + more.
        _duplex.Input.AdvanceTo(first.Buffer.GetPosition(1), first.Buffer.End);
        var next = _duplex.Input.ReadAsync();
        Assert.False(next.IsCompleted);

        _peer.Send("def"u8);
        var second = await next.AsTask().WaitAsync(Limit);

        Assert.Equal("bcdef"u8.ToArray(), second.Buffer.ToArray());
        _duplex.Input.AdvanceTo(second.Buffer.GetPosition(2), second.Buffer.GetPosition(2));
        // Not everything was examined: the rest comes back at once.
        Assert.True(_duplex.Input.TryRead(out var rest));
        Assert.Equal("def"u8.ToArray(), rest.Buffer.ToArray());
    }

    [Fact]
    public async Task A_message_longer_than_the_buffer_can_be_held_whole()
    {
        var message = Pattern(10 * BufferSize + 123);
        var sending = Task.Run(() => _peer.Send(message));

        // Never consume until it is all here, as a reader holding a message whole does.
        var held = await ReadAtLeastAsync(message.Length);
        await sending;

        Assert.Equal(message, held.Buffer.ToArray());
        Assert.True(held.Buffer.IsSingleSegment);
        _duplex.Input.AdvanceTo(held.Buffer.End);

        _peer.Send("after"u8);
        var after = await ReadAtLeastAsync(5);
        Assert.Equal("after"u8.ToArray(), after.Buffer.ToArray());
    }

    [Fact]
    public async Task Many_small_reads_with_partial_consumption_keep_every_byte_in_order()
    {
        var message = Pattern(200_000);
        var sending = Task.Run(() =>
        {
            for (var offset = 0; offset < message.Length; offset += 777)
                _peer.Send(message.AsSpan(offset, Math.Min(777, message.Length - offset)));
        });
        var received = new List<byte>();
        while (received.Count < message.Length)
        {
            var result = await _duplex.Input.ReadAsync().AsTask().WaitAsync(Limit);
            // Consume all but the last 5 bytes each time (they come back with the next read).
            var take = Math.Max(0, result.Buffer.Length - 5);
            if (received.Count + result.Buffer.Length == message.Length)
                take = result.Buffer.Length;
            received.AddRange(result.Buffer.Slice(0, take).ToArray());
            _duplex.Input.AdvanceTo(result.Buffer.GetPosition(take), result.Buffer.End);
        }
        await sending;

        Assert.Equal(message, received.ToArray());
    }

    [Fact]
    public async Task The_peer_closing_its_side_completes_the_reader()
    {
        _peer.Send("bye"u8);
        _peer.Shutdown(SocketShutdown.Send);

        var result = await ReadAtLeastAsync(3);
        while (!result.IsCompleted)
        {
            _duplex.Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            result = await _duplex.Input.ReadAsync().AsTask().WaitAsync(Limit);
        }

        Assert.Equal("bye"u8.ToArray(), result.Buffer.ToArray());
    }

    [Fact]
    public async Task Sends_and_buffered_writes_arrive_in_the_order_they_were_made()
    {
        var writer = (SocketWriter)_duplex.Output;
        writer.Send("one "u8);
        writer.Write("two "u8);
        writer.Send("three "u8); // something is buffered: it must wait its turn
        await writer.FlushAsync();
        writer.Send("four"u8);
        await writer.FlushAsync();

        Assert.Equal("one two three four"u8.ToArray(), ReceiveOnPeer(18));
    }

    [Fact]
    public async Task A_peer_that_does_not_read_holds_the_flush_back_until_it_reads_everything()
    {
        var writer = (SocketWriter)_duplex.Output;
        var message = Pattern(32 * 1024 * 1024); // far more than both socket buffers hold (a few MiB on loopback)

        writer.Send(message);
        var flush = writer.FlushAsync();
        Assert.False(flush.IsCompleted);
        Assert.True(writer.UnflushedBytes > 0);

        var received = await Task.Run(() => ReceiveOnPeer(message.Length)).WaitAsync(Limit);
        await flush.AsTask().WaitAsync(Limit);

        Assert.Equal(message, received);
        Assert.Equal(0, writer.UnflushedBytes);
    }

    [Fact]
    public async Task A_write_to_a_peer_that_is_gone_fails_with_an_IOException()
    {
        _peer.LingerState = new LingerOption(true, 0); // close with a reset
        _peer.Dispose();

        var failed = await Assert.ThrowsAsync<IOException>(async () =>
        {
            // The reset has arrived by the time Dispose returns on loopback; a few tries at most.
            for (var i = 0; i < 100; i++)
            {
                _duplex.Output.Write(Pattern(1000));
                await _duplex.Output.FlushAsync();
            }
        });

        // The reason is kept: the reset itself, or the broken pipe a send after it meets.
        var reason = Assert.IsType<SocketException>(failed.InnerException).SocketErrorCode;
        Assert.Contains(reason, new[] { SocketError.ConnectionReset, SocketError.Shutdown });
    }

    [Fact]
    public async Task A_read_from_a_peer_that_reset_the_connection_fails_with_connection_reset()
    {
        var read = _duplex.Input.ReadAsync();
        Assert.False(read.IsCompleted);

        _peer.LingerState = new LingerOption(true, 0); // close with a reset
        _peer.Dispose();

        var failed = await Assert.ThrowsAsync<IOException>(() => read.AsTask().WaitAsync(Limit));
        Assert.Equal(SocketError.ConnectionReset, Assert.IsType<SocketException>(failed.InnerException).SocketErrorCode);
    }

    [Fact]
    public async Task Closing_the_connection_ends_a_flush_waiting_for_the_peer_to_read()
    {
        var writer = (SocketWriter)_duplex.Output;
        writer.Send(Pattern(32 * 1024 * 1024)); // more than both socket buffers hold: the flush has to wait
        var flush = writer.FlushAsync();
        Assert.False(flush.IsCompleted);

        await _duplex.DisposeAsync();

        await Assert.ThrowsAnyAsync<IOException>(() => flush.AsTask().WaitAsync(Limit));
    }

    [Fact]
    public async Task A_read_waiting_for_data_ends_when_its_token_is_cancelled_and_the_next_read_gets_the_data()
    {
        using var cancel = new CancellationTokenSource();
        var read = _duplex.Input.ReadAsync(cancel.Token);
        Assert.False(read.IsCompleted);

        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.AsTask().WaitAsync(Limit));

        _peer.Send("later"u8);
        var result = await ReadAtLeastAsync(5);
        Assert.Equal("later"u8.ToArray(), result.Buffer.ToArray());
    }

    [Fact]
    public async Task Reads_that_waited_on_a_token_before_still_end_when_it_is_cancelled_during_a_later_one()
    {
        // A session waits on the same token for every read of its life.
        using var cancel = new CancellationTokenSource();
        for (var i = 0; i < 3; i++)
        {
            var read = _duplex.Input.ReadAsync(cancel.Token);
            Assert.False(read.IsCompleted);
            _peer.Send([(byte)i]);
            var result = await read.AsTask().WaitAsync(Limit);
            Assert.Equal([(byte)i], result.Buffer.ToArray());
            _duplex.Input.AdvanceTo(result.Buffer.End);
        }

        var last = _duplex.Input.ReadAsync(cancel.Token);
        Assert.False(last.IsCompleted);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => last.AsTask().WaitAsync(Limit));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _duplex.Input.ReadAsync(cancel.Token).AsTask());
    }

    [Fact]
    public async Task Closing_the_connection_ends_a_waiting_read_with_an_IOException()
    {
        var read = _duplex.Input.ReadAsync();
        Assert.False(read.IsCompleted);

        await _duplex.DisposeAsync();

        await Assert.ThrowsAnyAsync<IOException>(() => read.AsTask().WaitAsync(Limit));
    }

    [Fact]
    public async Task The_end_that_arrives_with_the_last_bytes_is_read_after_them()
    {
        // One report from the kernel for both: the read that gets the bytes must not conclude that
        // nothing more is queued.
        _peer.Send(Pattern(100));
        _peer.Shutdown(SocketShutdown.Send);
        // On loopback both are queued by the time the calls return; wait for the bytes at least.
        Assert.True(SpinWait.SpinUntil(() => _duplex.Socket.Available >= 100, Limit));

        var first = await _duplex.Input.ReadAsync().AsTask().WaitAsync(Limit);
        _duplex.Input.AdvanceTo(first.Buffer.End);
        var result = first;
        while (!result.IsCompleted)
        {
            result = await _duplex.Input.ReadAsync().AsTask().WaitAsync(Limit);
            _duplex.Input.AdvanceTo(result.Buffer.End);
        }

        Assert.True(result.IsCompleted);
    }

    [Fact]
    public async Task Connecting_by_name_reaches_the_listener_and_carries_bytes_both_ways()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;

        // "localhost" may name ::1 first, where nobody listens: the next address is tried.
        await using var connected = await SocketDuplex.ConnectAsync("localhost", port, CancellationToken.None, EventLoop)
            .WaitAsync(Limit);
        using var accepted = await listener.AcceptAsync().WaitAsync(Limit);

        ((SocketWriter)connected.Output).Send("ping"u8);
        var ping = new byte[4];
        Assert.Equal(4, await accepted.ReceiveAsync(ping.AsMemory()).AsTask().WaitAsync(Limit));
        Assert.Equal("ping"u8.ToArray(), ping);
        accepted.Send("pong"u8);
        var pong = await connected.Input.ReadAsync().AsTask().WaitAsync(Limit);
        Assert.Equal("pong"u8.ToArray(), pong.Buffer.ToArray());
    }

    [Fact]
    public async Task Connecting_to_a_port_nobody_listens_on_fails_with_connection_refused()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        var error = await Assert.ThrowsAsync<SocketException>(() =>
            SocketDuplex.ConnectAsync("127.0.0.1", port, CancellationToken.None, EventLoop).WaitAsync(Limit));
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
    }

    [Fact]
    public async Task Many_round_trips_between_two_duplexes_lose_no_wake_up()
    {
        // Each round trip parks a read that the other side's send wakes: a report that arrives
        // while the read is parking must still end in a receive.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        await using var left = await SocketDuplex.ConnectAsync("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port,
            CancellationToken.None, EventLoop);
        await using var right = new SocketDuplex(await listener.AcceptAsync(), BufferSize, eventLoop: EventLoop);
        const int RoundTrips = 5000;

        async Task Echo()
        {
            for (var i = 0; i < RoundTrips; i++)
            {
                var read = await right.Input.ReadAsync();
                var bytes = read.Buffer.ToArray();
                right.Input.AdvanceTo(read.Buffer.End);
                ((SocketWriter)right.Output).Send(bytes);
                await right.Output.FlushAsync();
            }
        }

        var echo = Task.Run(Echo);
        for (var i = 0; i < RoundTrips; i++)
        {
            ((SocketWriter)left.Output).Send(BitConverter.GetBytes(i));
            await left.Output.FlushAsync();
            var received = 0;
            while (received < 4)
            {
                var read = await left.Input.ReadAsync().AsTask().WaitAsync(Limit);
                received += (int)read.Buffer.Length;
                Assert.Equal(i, BitConverter.ToInt32(read.Buffer.ToArray()));
                left.Input.AdvanceTo(read.Buffer.End);
            }
        }
        await echo.WaitAsync(Limit);
    }

    private protected async Task<ReadResult> ReadAtLeastAsync(int length)
    {
        while (true)
        {
            var result = await _duplex.Input.ReadAsync().AsTask().WaitAsync(Limit);
            if (result.Buffer.Length >= length || result.IsCompleted)
                return result;
            _duplex.Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private protected byte[] ReceiveOnPeer(int length)
    {
        var received = new byte[length];
        var count = 0;
        while (count < length)
        {
            var n = _peer.Receive(received.AsSpan(count));
            Assert.NotEqual(0, n);
            count += n;
        }
        return received;
    }

    private static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
            bytes[i] = (byte)(i * 31 + i / 251);
        return bytes;
    }
}

/// <summary>The duplex on the pooler's own epoll loop (what every connection uses on Linux x64).</summary>
public sealed class SocketDuplexOnEventLoopTests : SocketDuplexTests
{
    protected override bool EventLoop => true;

    [Fact]
    public void The_event_loop_runs_on_this_machine()
    {
        Assert.NotNull(Pooler.Core.Servers.EventLoop.Loops);
    }

    [Fact]
    public async Task Data_reported_while_a_read_starts_to_wait_is_received()
    {
        // The report lands between "nothing to receive" and parking: the wait takes it and
        // completes at once, and the read must then receive rather than wait for another report.
        var reader = (SocketReader)Duplex.Input;
        reader.BeforeWait = () =>
        {
            reader.BeforeWait = null;
            Peer.Send("raced"u8);
            Assert.True(SpinWait.SpinUntil(() => Duplex.Events!.Readable.IsReady, Limit));
        };

        var result = await reader.ReadAsync().AsTask().WaitAsync(Limit);

        Assert.Equal("raced"u8.ToArray(), result.Buffer.ToArray());
    }

    [Fact]
    public async Task A_client_waiting_with_nothing_unread_holds_no_receive_buffer_and_still_reads_what_comes()
    {
        // An idle client's memory: its 4 KiB receive buffer goes back to the loop while it waits.
        var reader = (SocketReader)Duplex.Input;
        Peer.Send("first"u8);
        var first = await ReadAtLeastAsync(5);
        Assert.True(reader.HoldsBuffer);
        reader.AdvanceTo(first.Buffer.GetPosition(2), first.Buffer.End);

        var second = reader.ReadAsync();
        Assert.False(second.IsCompleted);
        Assert.True(reader.HoldsBuffer, "gave back a buffer that still holds unread bytes");
        Peer.Send("-second"u8);
        var both = await second.AsTask().WaitAsync(Limit);
        Assert.Equal("rst-second"u8.ToArray(), both.Buffer.ToArray());
        reader.AdvanceTo(both.Buffer.End);

        var third = reader.ReadAsync();
        Assert.False(third.IsCompleted);
        Assert.False(reader.HoldsBuffer, "an idle reader kept its receive buffer");
        Peer.Send("third"u8);
        var last = await third.AsTask().WaitAsync(Limit);
        Assert.Equal("third"u8.ToArray(), last.Buffer.ToArray());
        Assert.True(reader.HoldsBuffer);

        // A server connection's reader (buffers kept) holds its buffer while it waits.
        var (connecting, serverSide) = await SocketPairAsync();
        using var _ = serverSide;
        await using var kept = new SocketDuplex(connecting, BufferSize, clientConnection: false, eventLoop: true);
        var waiting = kept.Input.ReadAsync();
        Assert.False(waiting.IsCompleted);
        Assert.True(((SocketReader)kept.Input).HoldsBuffer);
        serverSide.Send("x"u8);
        Assert.Equal("x"u8.ToArray(), (await waiting.AsTask().WaitAsync(Limit)).Buffer.ToArray());
    }

    [Fact]
    public async Task A_client_reader_that_reads_no_more_gives_its_receive_buffer_back_at_once()
    {
        // A client that says Terminate: its session stops reading with the message unconsumed.
        var reader = (SocketReader)Duplex.Input;
        Peer.Send("X\0\0\0\u0004"u8);
        var last = await ReadAtLeastAsync(5);
        reader.AdvanceTo(last.Buffer.Start, last.Buffer.End);
        Assert.True(reader.HoldsBuffer);

        reader.ReleaseBuffer();

        Assert.False(reader.HoldsBuffer, "the reader kept its receive buffer after its last read");
        // Read again after all (nothing on the data path does): the dropped bytes stay dropped, new ones arrive whole.
        var next = reader.ReadAsync();
        Peer.Send("after"u8);
        Assert.Equal("after"u8.ToArray(), (await next.AsTask().WaitAsync(Limit)).Buffer.ToArray());
    }

    [Fact]
    public async Task A_flush_on_the_loop_thread_sends_when_the_batch_is_done_and_completes_after_that()
    {
        var writer = (SocketWriter)Duplex.Output;
        async Task<(bool OnLoop, bool Waited, long Unsent)> Answer()
        {
            var read = await Duplex.Input.ReadAsync().ConfigureAwait(false); // continues on the loop's thread
            Duplex.Input.AdvanceTo(read.Buffer.End);
            var onLoop = Pooler.Core.Servers.EventLoop.Current is not null;
            writer.Send("pong"u8);
            var flush = writer.FlushAsync();
            var waited = !flush.IsCompleted;
            await flush.ConfigureAwait(false);
            return (onLoop, waited, writer.UnflushedBytes);
        }

        var answer = Answer();
        Peer.Send("ping"u8);
        var (onLoop, waited, unsent) = await answer.WaitAsync(Limit);

        Assert.True(onLoop, "the read's continuation did not run on the event loop");
        Assert.True(waited, "the flush sent at once instead of at the end of the loop's batch");
        Assert.Equal(0, unsent);
        Assert.Equal("pong"u8.ToArray(), ReceiveOnPeer(4));
    }

    [Fact]
    public async Task A_server_connections_flush_on_the_loop_thread_sends_at_once()
    {
        // Clients wait in line for a server: its query must not wait for the end of the loop's batch.
        var (connecting, backend) = await SocketPairAsync();
        using var _ = backend;
        await using var server = new SocketDuplex(connecting, BufferSize, clientConnection: false, eventLoop: true);
        async Task<(bool OnLoop, bool AtOnce)> SendQuery()
        {
            var read = await server.Input.ReadAsync().ConfigureAwait(false); // continues on the loop's thread
            server.Input.AdvanceTo(read.Buffer.End);
            var onLoop = Pooler.Core.Servers.EventLoop.Current is not null;
            server.Output.Write("query"u8);
            var flush = server.Output.FlushAsync();
            var atOnce = flush.IsCompleted;
            await flush.ConfigureAwait(false);
            return (onLoop, atOnce);
        }

        var sending = SendQuery();
        backend.Send("ready"u8);
        var (onLoop, atOnce) = await sending.WaitAsync(Limit);

        Assert.True(onLoop, "the read's continuation did not run on the event loop");
        Assert.True(atOnce, "a server connection's flush waited for the end of the loop's batch");
        var received = new byte[5];
        Assert.Equal(5, backend.Receive(received));
        Assert.Equal("query"u8.ToArray(), received);
    }

    [Fact]
    public async Task In_one_batch_a_server_connections_answer_is_handled_before_a_clients_query()
    {
        // The answer frees the server for the next client in line: its backend must not wait while
        // the loop reads the batch's new queries, which can only join the line.
        var (gate, gatePeer, loop) = await OnOneLoopAsync(server: false, loop: null);
        var (client, pgbench, _) = await OnOneLoopAsync(server: false, loop);
        var (server, backend, _) = await OnOneLoopAsync(server: true, loop);
        await using var disposeGate = gate;
        await using var disposeClient = client;
        await using var disposeServer = server;
        using var closeGatePeer = gatePeer;
        using var closePgbench = pgbench;
        using var closeBackend = backend;
        var handled = new System.Collections.Concurrent.ConcurrentQueue<string>();
        async Task ReadAsync(SocketDuplex duplex, string name)
        {
            var read = await duplex.Input.ReadAsync().ConfigureAwait(false); // continues on the loop's thread
            duplex.Input.AdvanceTo(read.Buffer.End);
            handled.Enqueue(name);
        }
        using var holding = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        async Task HoldTheLoopAsync()
        {
            var read = await gate.Input.ReadAsync().ConfigureAwait(false);
            gate.Input.AdvanceTo(read.Buffer.End);
            holding.Set();
            release.Wait(Limit); // the loop's thread, held while both others become readable
        }

        var reads = Task.WhenAll(ReadAsync(client, "client"), ReadAsync(server, "server"));
        var held = HoldTheLoopAsync();
        gatePeer.Send("hold"u8);
        Assert.True(holding.Wait(Limit), "the loop did not run the gate's read");
        pgbench.Send("query"u8);   // readable first
        backend.Send("answer"u8);  // readable second
        release.Set();
        await Task.WhenAll(reads, held).WaitAsync(Limit);

        Assert.Equal(["server", "client"], handled);
    }

    /// <summary>A loopback connection whose socket is on <paramref name="loop"/> (any, when null), as a server's or a client's duplex.</summary>
    private static async Task<(SocketDuplex Duplex, Socket Peer, Pooler.Core.Servers.EventLoop Loop)> OnOneLoopAsync(bool server,
        Pooler.Core.Servers.EventLoop? loop)
    {
        // Sockets go to the loops in turn; with several loops (POOLER_IO_THREADS) try until one lands on the wanted one.
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var (connecting, peer) = await SocketPairAsync();
            var events = Pooler.Core.Servers.EventLoop.Register(connecting, server)!;
            if (loop is null || events.Loop == loop)
                return (new SocketDuplex(connecting, BufferSize, clientConnection: !server, events: events), peer, events.Loop);
            events.Close();
            connecting.Dispose();
            peer.Dispose();
        }
        throw new InvalidOperationException("no connection landed on the wanted event loop");
    }

    [Fact]
    public async Task A_flush_waiting_for_the_end_of_the_batch_is_sent_before_the_socket_closes()
    {
        // A session that writes its last error and closes at once must not lose that error.
        async Task SayByeAndClose()
        {
            var read = await Duplex.Input.ReadAsync().ConfigureAwait(false);
            Duplex.Input.AdvanceTo(read.Buffer.End);
            Duplex.Output.Write("bye"u8);
            _ = Duplex.Output.FlushAsync();
            await Duplex.DisposeAsync();
        }

        var closing = SayByeAndClose();
        Peer.Send("done?"u8);
        await closing.WaitAsync(Limit);

        Assert.Equal("bye"u8.ToArray(), ReceiveOnPeer(3));
    }
}

/// <summary>The duplex on .NET's socket engine (POOLER_SOCKET_ENGINE=dotnet, and platforms without epoll).</summary>
public sealed class SocketDuplexOnDotnetEngineTests : SocketDuplexTests
{
    protected override bool EventLoop => false;
}
