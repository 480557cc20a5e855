namespace Pooler.Protocol.Tests;

public sealed class StartupFrameScannerTests
{
    private const int Max = StartupFrameScanner.DefaultMaxLength;

    [Fact]
    public void Startup_message_is_recognized_by_its_protocol_version()
    {
        byte[] bytes = Wire.Bytes(StartupMessage.Create("alice", "shop").WriteTo);

        (StartupFrameHeader header, byte[] payload) = Wire.SingleStartup(bytes);

        Assert.Equal(StartupRequestKind.StartupMessage, header.Kind);
        Assert.Equal(196608, header.Code);
        Assert.Equal(bytes.Length - 4, payload.Length);
    }

    [Fact]
    public void Protocol_3_2_is_a_startup_message_and_2_0_is_unsupported()
    {
        Assert.Equal(StartupRequestKind.StartupMessage, new StartupFrameHeader(8, StartupCode.ProtocolVersion3_2).Kind);
        Assert.Equal(StartupRequestKind.Unsupported, new StartupFrameHeader(8, 2 << 16).Kind);
    }

    [Fact]
    public void Ssl_request_is_eight_bytes_with_its_magic_code()
    {
        byte[] bytes = Wire.Bytes(SslRequest.Write);

        Assert.Equal([0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F], bytes);
        Assert.Equal(StartupRequestKind.SslRequest, Wire.SingleStartup(bytes).Header.Kind);
        Assert.Equal(80877103, Wire.SingleStartup(bytes).Header.Code);
    }

    [Fact]
    public void Gssenc_request_is_recognized()
    {
        byte[] bytes = Wire.Bytes(GssEncRequest.Write);

        Assert.Equal(StartupRequestKind.GssEncRequest, Wire.SingleStartup(bytes).Header.Kind);
        Assert.Equal(80877104, Wire.SingleStartup(bytes).Header.Code);
    }

    [Fact]
    public void Cancel_request_is_recognized()
    {
        byte[] bytes = Wire.Bytes(new CancelRequest(1234, 5678).WriteTo);

        Assert.Equal(16, bytes.Length);
        Assert.Equal(StartupRequestKind.CancelRequest, Wire.SingleStartup(bytes).Header.Kind);
        Assert.Equal(80877102, Wire.SingleStartup(bytes).Header.Code);
    }

    [Fact]
    public void Every_split_point_of_a_startup_message_reads_whole()
    {
        byte[] bytes = Wire.Bytes(StartupMessage.Create("alice", "shop").WriteTo);
        for (int split = 0; split <= bytes.Length; split++)
        {
            ReadOnlySequence<byte> input = Segments.SplitAt(bytes, split);

            Assert.Equal(FrameStatus.Complete, StartupFrameScanner.TryReadFrame(input, Max, out StartupFrame frame));
            Assert.Equal("alice", StartupMessage.Read(frame.PayloadAsSpan()).User);
        }
    }

    [Fact]
    public void Every_prefix_of_a_startup_message_is_incomplete()
    {
        byte[] bytes = Wire.Bytes(StartupMessage.Create("alice").WriteTo);
        for (int length = 0; length < bytes.Length; length++)
        {
            var input = new ReadOnlySequence<byte>(bytes, 0, length);
            Assert.Equal(FrameStatus.Incomplete, StartupFrameScanner.TryRead(input, Max, out _, out _));
        }
    }

    [Fact]
    public void Length_below_eight_is_invalid_as_soon_as_the_length_is_known()
    {
        byte[] bytes = [0, 0, 0, 5];

        FrameStatus status = StartupFrameScanner.TryRead(new ReadOnlySequence<byte>(bytes), Max, out StartupFrameHeader header, out _);

        Assert.Equal(FrameStatus.Invalid, status);
        Assert.Equal("startup packet length 5 is below the minimum 8", StartupFrameScanner.Describe(status, header, Max));
    }

    [Fact]
    public void Length_above_the_limit_is_too_large()
    {
        byte[] bytes = [0x7F, 0, 0, 0];

        FrameStatus status = StartupFrameScanner.TryRead(new ReadOnlySequence<byte>(bytes), Max, out StartupFrameHeader header, out _);

        Assert.Equal(FrameStatus.TooLarge, status);
        Assert.Equal("startup packet declares 2130706432 bytes, above the limit of 10000", StartupFrameScanner.Describe(status, header, Max));
    }

    [Fact]
    public void Tls_client_hello_sent_without_ssl_request_is_too_large_rather_than_waited_for()
    {
        // A direct-TLS client (sslnegotiation=direct) starts with 0x16 0x03 0x01 ...
        byte[] bytes = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01];

        Assert.Equal(FrameStatus.TooLarge, StartupFrameScanner.TryRead(new ReadOnlySequence<byte>(bytes), Max, out _, out _));
    }

    [Fact]
    public void Ssl_request_with_a_wrong_length_is_invalid()
    {
        byte[] bytes = [0, 0, 0, 12, 0x04, 0xD2, 0x16, 0x2F, 0, 0, 0, 0];

        FrameStatus status = StartupFrameScanner.TryRead(new ReadOnlySequence<byte>(bytes), Max, out StartupFrameHeader header, out _);

        Assert.Equal(FrameStatus.Invalid, status);
        Assert.Equal("SslRequest length 12 is not 8", StartupFrameScanner.Describe(status, header, Max));
    }

    [Fact]
    public void Cancel_request_shorter_than_sixteen_bytes_is_invalid()
    {
        byte[] bytes = [0, 0, 0, 12, 0x04, 0xD2, 0x16, 0x2E, 0, 0, 0, 1];

        FrameStatus status = StartupFrameScanner.TryRead(new ReadOnlySequence<byte>(bytes), Max, out StartupFrameHeader header, out _);

        Assert.Equal(FrameStatus.Invalid, status);
        Assert.Equal("CancelRequest length 12 is outside 16..268", StartupFrameScanner.Describe(status, header, Max));
    }

    [Fact]
    public void Ssl_request_followed_by_tls_bytes_ends_at_eight()
    {
        byte[] bytes = [.. Wire.Bytes(SslRequest.Write), 0x16, 0x03, 0x01];

        Assert.Equal(FrameStatus.Complete, StartupFrameScanner.TryRead(new ReadOnlySequence<byte>(bytes), Max, out _, out SequencePosition end));
        Assert.Equal(8, new ReadOnlySequence<byte>(bytes).Slice(0, end).Length);
    }
}
