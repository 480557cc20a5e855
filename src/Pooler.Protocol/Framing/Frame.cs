using System.Buffers;

namespace Pooler.Protocol;

/// <summary>
/// One complete regular message inside a larger buffer. Holds slices of the caller's
/// sequence, so it costs nothing to create and is only valid while that buffer is.
/// </summary>
public readonly struct Frame
{
    public Frame(FrameHeader header, ReadOnlySequence<byte> payload, SequencePosition end)
    {
        Header = header;
        Payload = payload;
        End = end;
    }

    public FrameHeader Header { get; }

    public byte Type => Header.Type;

    /// <summary>The bytes after the length field.</summary>
    public ReadOnlySequence<byte> Payload { get; }

    /// <summary>The position just after this frame in the scanned sequence: pass it to AdvanceTo or Slice.</summary>
    public SequencePosition End { get; }

    /// <summary>
    /// The payload as one span. Free when the payload sits in one segment; copies it into a new
    /// array otherwise, so keep this off the forwarding path.
    /// </summary>
    public ReadOnlySpan<byte> PayloadAsSpan() => Payload.IsSingleSegment ? Payload.FirstSpan : Payload.ToArray();
}
