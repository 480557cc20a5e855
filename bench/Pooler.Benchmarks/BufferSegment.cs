using System.Buffers;

namespace Pooler.Benchmarks;

/// <summary>Cuts a buffer into pool-sized segments, the shape a Pipe hands a reader.</summary>
internal sealed class BufferSegment : ReadOnlySequenceSegment<byte>
{
    private BufferSegment(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Chunked(byte[] bytes, int size)
    {
        var first = new BufferSegment(bytes.AsMemory(0, Math.Min(size, bytes.Length)), 0);
        BufferSegment last = first;
        for (int offset = size; offset < bytes.Length; offset += size)
        {
            var next = new BufferSegment(bytes.AsMemory(offset, Math.Min(size, bytes.Length - offset)), offset);
            last.Next = next;
            last = next;
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
