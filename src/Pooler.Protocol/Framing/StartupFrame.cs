using System.Buffers;

namespace Pooler.Protocol;

/// <summary>One complete startup-phase packet inside a larger buffer.</summary>
public readonly struct StartupFrame
{
    public StartupFrame(StartupFrameHeader header, ReadOnlySequence<byte> payload, SequencePosition end)
    {
        Header = header;
        Payload = payload;
        End = end;
    }

    public StartupFrameHeader Header { get; }

    public StartupRequestKind Kind => Header.Kind;

    /// <summary>The bytes after the length field, starting with the code.</summary>
    public ReadOnlySequence<byte> Payload { get; }

    public SequencePosition End { get; }

    /// <summary>The payload as one span; copies only when it spans segments.</summary>
    public ReadOnlySpan<byte> PayloadAsSpan() =>
        Payload.IsSingleSegment ? Payload.FirstSpan : Payload.ToArray();
}
