namespace Pooler.Protocol.Tests;

public sealed class FrameScannerTests
{
    private const int Max = Wire.MaxLength;

    private static readonly byte[] ThreeMessages =
    [
        .. Wire.Bytes(o => CommandComplete.Write(o, "SELECT 1")),
        .. Wire.Bytes(o => new ParameterStatus("TimeZone", "UTC").WriteTo(o)),
        .. Wire.Bytes(o => ReadyForQuery.Write(o, TransactionStatus.Idle)),
    ];

    [Fact]
    public void Whole_frame_is_read_with_its_header_and_payload()
    {
        byte[] bytes = Wire.Bytes(o => Query.Write(o, "select 1"));
        var input = new ReadOnlySequence<byte>(bytes);

        FrameStatus status = FrameScanner.TryReadFrame(input, Max, out Frame frame);

        Assert.Equal(FrameStatus.Complete, status);
        Assert.Equal(FrontendMessageType.Query, frame.Type);
        Assert.Equal(4 + 9, frame.Header.DeclaredLength);
        Assert.Equal(9, frame.Header.PayloadLength);
        Assert.Equal("select 1\0"u8.ToArray(), frame.Payload.ToArray());
        Assert.Equal(input.End, frame.End);
    }

    [Fact]
    public void Every_prefix_of_a_message_is_incomplete_and_the_whole_is_complete()
    {
        byte[] bytes = Wire.Bytes(o => Query.Write(o, "select 1"));
        for (int length = 0; length < bytes.Length; length++)
        {
            var input = new ReadOnlySequence<byte>(bytes, 0, length);
            Assert.Equal(FrameStatus.Incomplete, FrameScanner.TryRead(input, Max, out _, out _));
        }

        Assert.Equal(FrameStatus.Complete, FrameScanner.TryRead(new ReadOnlySequence<byte>(bytes), Max, out _, out _));
    }

    [Fact]
    public void Incomplete_payload_still_reports_the_header_so_the_caller_knows_what_to_wait_for()
    {
        byte[] bytes = Wire.Bytes(o => Query.Write(o, "select 1"));
        var input = new ReadOnlySequence<byte>(bytes, 0, 7);

        Assert.Equal(FrameStatus.Incomplete, FrameScanner.TryRead(input, Max, out FrameHeader header, out _));
        Assert.Equal(FrontendMessageType.Query, header.Type);
        Assert.Equal(bytes.Length, header.FrameLength);
    }

    [Fact]
    public void Header_only_read_completes_before_the_payload_arrives()
    {
        byte[] bytes = Wire.Bytes(o => CopyData.Write(o, new byte[100]));
        var input = new ReadOnlySequence<byte>(bytes, 0, 5);

        Assert.Equal(FrameStatus.Complete, FrameScanner.TryReadHeader(input, Max, out FrameHeader header));
        Assert.Equal(100, header.PayloadLength);
    }

    [Fact]
    public void Frame_split_across_segments_at_every_point_is_read_whole()
    {
        byte[] bytes = Wire.Bytes(o => new ParameterStatus("client_encoding", "UTF8").WriteTo(o));
        for (int split = 0; split <= bytes.Length; split++)
        {
            ReadOnlySequence<byte> input = Segments.SplitAt(bytes, split);

            Assert.Equal(FrameStatus.Complete, FrameScanner.TryReadFrame(input, Max, out Frame frame));
            Assert.Equal(BackendMessageType.ParameterStatus, frame.Type);
            Assert.Equal(new ParameterStatus("client_encoding", "UTF8"), ParameterStatus.Read(frame.PayloadAsSpan()));
            Assert.Equal(input.End, frame.End);
        }
    }

    [Fact]
    public void Frame_spread_over_one_byte_segments_is_read_whole()
    {
        byte[] bytes = Wire.Bytes(o => CommandComplete.Write(o, "INSERT 0 1"));
        ReadOnlySequence<byte> input = Segments.Chunked(bytes, 1);

        Assert.Equal(FrameStatus.Complete, FrameScanner.TryReadFrame(input, Max, out Frame frame));
        Assert.Equal("INSERT 0 1", CommandComplete.Read(frame.PayloadAsSpan()).Tag);
    }

    [Fact]
    public void Many_messages_in_one_buffer_are_read_one_after_another()
    {
        var types = new List<byte>();
        var input = new ReadOnlySequence<byte>(ThreeMessages);
        while (FrameScanner.TryReadFrame(input, Max, out Frame frame) == FrameStatus.Complete)
        {
            types.Add(frame.Type);
            input = input.Slice(frame.End);
        }

        Assert.Equal([BackendMessageType.CommandComplete, BackendMessageType.ParameterStatus, BackendMessageType.ReadyForQuery], types);
        Assert.True(input.IsEmpty);
    }

    [Fact]
    public void Many_messages_arriving_in_reads_of_every_size_are_all_found()
    {
        for (int chunk = 1; chunk <= ThreeMessages.Length; chunk++)
        {
            var types = new List<byte>();
            byte[] pending = [];
            for (int offset = 0; offset < ThreeMessages.Length; offset += chunk)
            {
                // Simulate a pipe: unread bytes stay, a new read appends as a new segment.
                byte[] read = ThreeMessages[offset..Math.Min(ThreeMessages.Length, offset + chunk)];
                ReadOnlySequence<byte> input = Segments.Chain([pending, read]);
                while (FrameScanner.TryReadFrame(input, Max, out Frame frame) == FrameStatus.Complete)
                {
                    types.Add(frame.Type);
                    input = input.Slice(frame.End);
                }

                pending = input.ToArray();
            }

            Assert.Equal(3, types.Count);
            Assert.Empty(pending);
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void Length_below_four_is_invalid(int declared)
    {
        byte[] bytes = [(byte)'Q', .. BigEndian(declared)];

        FrameStatus status = FrameScanner.TryRead(new ReadOnlySequence<byte>(bytes), Max, out FrameHeader header, out _);

        Assert.Equal(FrameStatus.Invalid, status);
        Assert.Equal(declared, header.DeclaredLength);
        Assert.Equal(
            $"message of type 'Q' has length {declared}, below the minimum 4",
            FrameScanner.Describe(status, header, Max));
    }

    [Fact]
    public void Length_above_the_limit_is_too_large_and_says_so_without_waiting_for_the_payload()
    {
        byte[] bytes = [(byte)'Q', .. BigEndian(2_000_000_000)];

        FrameStatus status = FrameScanner.TryRead(new ReadOnlySequence<byte>(bytes), 1048576, out FrameHeader header, out _);

        Assert.Equal(FrameStatus.TooLarge, status);
        Assert.Equal(
            "message of type 'Q' declares 2000000000 bytes, above the limit of 1048576 (max_message_size)",
            FrameScanner.Describe(status, header, 1048576, "max_message_size"));
    }

    [Fact]
    public void Length_exactly_at_the_limit_is_accepted()
    {
        byte[] bytes = Wire.Bytes(o => CopyData.Write(o, new byte[96]));

        Assert.Equal(FrameStatus.Complete, FrameScanner.TryRead(new ReadOnlySequence<byte>(bytes), 100, out _, out _));
        Assert.Equal(FrameStatus.TooLarge, FrameScanner.TryRead(new ReadOnlySequence<byte>(bytes), 99, out _, out _));
    }

    [Fact]
    public void Unprintable_type_bytes_are_shown_in_hex()
    {
        var header = new FrameHeader(0x05, 1);

        Assert.Equal("message of type 0x05 has length 1, below the minimum 4", FrameScanner.Describe(FrameStatus.Invalid, header, Max));
    }

    [Fact]
    public void Empty_payload_message_is_complete_with_five_bytes()
    {
        byte[] bytes = Wire.Bytes(Sync.Write);

        Assert.Equal([(byte)'S', 0, 0, 0, 4], bytes);
        Assert.Equal(FrameStatus.Complete, FrameScanner.TryReadFrame(new ReadOnlySequence<byte>(bytes), Max, out Frame frame));
        Assert.True(frame.Payload.IsEmpty);
    }

    [Fact]
    public void Frames_are_read_from_a_span_one_after_another()
    {
        ReadOnlySpan<byte> input = ThreeMessages;
        var tags = new List<string>();
        while (FrameScanner.TryReadFrame(input, Max, out FrameHeader header, out ReadOnlySpan<byte> payload) == FrameStatus.Complete)
        {
            if (header.Type == BackendMessageType.CommandComplete)
            {
                tags.Add(CommandComplete.Read(payload).Tag);
            }

            input = input.Slice((int)header.FrameLength);
        }

        Assert.Equal(["SELECT 1"], tags);
        Assert.Equal(0, input.Length);
    }

    [Fact]
    public void Span_missing_the_last_payload_byte_is_incomplete()
    {
        byte[] bytes = Wire.Bytes(o => ReadyForQuery.Write(o, TransactionStatus.Idle));

        Assert.Equal(FrameStatus.Incomplete, FrameScanner.TryReadFrame(bytes.AsSpan(0, 5), Max, out FrameHeader header, out _));
        Assert.Equal(6, header.FrameLength);
    }

    [Fact]
    public void Header_reads_from_a_span_as_from_a_sequence()
    {
        byte[] bytes = Wire.Bytes(o => ReadyForQuery.Write(o, TransactionStatus.Failed));

        Assert.Equal(FrameStatus.Complete, FrameScanner.TryReadHeader(bytes, Max, out FrameHeader header));
        Assert.Equal(new FrameHeader((byte)'Z', 5), header);
        Assert.Equal(FrameStatus.Incomplete, FrameScanner.TryReadHeader(bytes.AsSpan(0, 4), Max, out _));
    }

    private static byte[] BigEndian(int value)
    {
        var bytes = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }
}
