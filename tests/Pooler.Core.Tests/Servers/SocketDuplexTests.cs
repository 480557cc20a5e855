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
/// </summary>
public sealed class SocketDuplexTests : IAsyncLifetime
{
    private const int BufferSize = 4096;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    private Socket _peer = null!;  // the other end, used with plain blocking calls
    private SocketDuplex _duplex = null!;

    public async Task InitializeAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var connecting = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await connecting.ConnectAsync(listener.LocalEndPoint!);
        _peer = await listener.AcceptAsync();
        _duplex = new SocketDuplex(connecting, BufferSize, keepSendBuffer: false);
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

        await Assert.ThrowsAsync<IOException>(async () =>
        {
            // The reset has arrived by the time Dispose returns on loopback; a few tries at most.
            for (var i = 0; i < 100; i++)
            {
                _duplex.Output.Write(Pattern(1000));
                await _duplex.Output.FlushAsync();
            }
        });
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
    public async Task Closing_the_connection_ends_a_waiting_read_with_an_IOException()
    {
        var read = _duplex.Input.ReadAsync();
        Assert.False(read.IsCompleted);

        await _duplex.DisposeAsync();

        await Assert.ThrowsAnyAsync<IOException>(() => read.AsTask().WaitAsync(Limit));
    }

    private async Task<ReadResult> ReadAtLeastAsync(int length)
    {
        while (true)
        {
            var result = await _duplex.Input.ReadAsync().AsTask().WaitAsync(Limit);
            if (result.Buffer.Length >= length || result.IsCompleted)
                return result;
            _duplex.Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private byte[] ReceiveOnPeer(int length)
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
