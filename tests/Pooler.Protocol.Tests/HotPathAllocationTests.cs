namespace Pooler.Protocol.Tests;

/// <summary>The forwarding path scans every message; it must not allocate per message (DESIGN.md, "Speed").</summary>
public sealed class HotPathAllocationTests
{
    private const int Frames = 10_000;

    [Fact]
    public void Scanning_ten_thousand_frames_across_segments_and_reading_ready_for_query_allocates_nothing()
    {
        ReadOnlySequence<byte> input = Segments.Chunked(Workload(), 4096);
        Assert.False(input.IsSingleSegment);

        Scan(input); // warm-up: JIT, static initializers
        long before = GC.GetAllocatedBytesForCurrentThread();
        (int frames, int idle) = Scan(input);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Frames, frames);
        Assert.Equal(Frames / 4, idle);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Scanning_one_byte_segments_allocates_nothing()
    {
        byte[] bytes = Workload()[..2000];
        ReadOnlySequence<byte> input = Segments.Chunked(bytes, 1);

        Scan(input);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Scan(input);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Ready_for_query_status_is_read_from_a_payload_that_starts_in_an_empty_segment()
    {
        ReadOnlySequence<byte> payload = Segments.Chain([[], [(byte)'T']]);

        Assert.Equal(TransactionStatus.InTransaction, ReadyForQuery.ReadStatus(payload));
    }

    /// <summary>A server's answer to a simple query, repeated: RowDescription, DataRow, CommandComplete, ReadyForQuery.</summary>
    private static byte[] Workload()
    {
        var output = new ArrayBufferWriter<byte>();
        for (int i = 0; i < Frames / 4; i++)
        {
            RowDescription.FromFields(FieldDescription.Int4("n")).WriteTo(output);
            DataRow.WriteText(output, "1");
            CommandComplete.Write(output, "SELECT 1");
            ReadyForQuery.Write(output, TransactionStatus.Idle);
        }

        return output.WrittenSpan.ToArray();
    }

    private static (int Frames, int Idle) Scan(ReadOnlySequence<byte> input)
    {
        int frames = 0;
        int idle = 0;
        while (FrameScanner.TryReadFrame(input, Wire.MaxLength, out Frame frame) == FrameStatus.Complete)
        {
            frames++;
            if (frame.Type == BackendMessageType.ReadyForQuery
                && ReadyForQuery.ReadStatus(frame.Payload) == TransactionStatus.Idle)
            {
                idle++;
            }

            input = input.Slice(frame.End);
        }

        return (frames, idle);
    }
}
