using System.Buffers;

namespace Pooler.Protocol.Tests.Support;

/// <summary>Builds multi-segment sequences, the shape a Pipe hands over after several reads.</summary>
internal static class Segments
{
    /// <summary>Splits <paramref name="bytes"/> at the given offsets (ascending); empty segments are allowed.</summary>
    public static ReadOnlySequence<byte> SplitAt(byte[] bytes, params int[] offsets)
    {
        var pieces = new List<byte[]>();
        int start = 0;
        foreach (int offset in offsets)
        {
            pieces.Add(bytes[start..offset]);
            start = offset;
        }

        pieces.Add(bytes[start..]);
        return Chain(pieces);
    }

    /// <summary>Cuts <paramref name="bytes"/> into segments of <paramref name="size"/> bytes.</summary>
    public static ReadOnlySequence<byte> Chunked(byte[] bytes, int size)
    {
        var pieces = new List<byte[]>();
        for (int i = 0; i < bytes.Length; i += size)
        {
            pieces.Add(bytes[i..Math.Min(bytes.Length, i + size)]);
        }

        return pieces.Count == 0 ? ReadOnlySequence<byte>.Empty : Chain(pieces);
    }

    public static ReadOnlySequence<byte> Chain(IReadOnlyList<byte[]> pieces)
    {
        var first = new Segment(pieces[0], 0);
        Segment last = first;
        for (int i = 1; i < pieces.Count; i++)
        {
            last = last.Append(pieces[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] bytes, long runningIndex)
        {
            Memory = bytes;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte[] bytes)
        {
            var next = new Segment(bytes, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
