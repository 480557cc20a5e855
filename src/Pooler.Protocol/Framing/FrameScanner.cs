using System.Buffers;
using System.Buffers.Binary;

namespace Pooler.Protocol;

/// <summary>
/// Finds regular message boundaries (type byte + Int32 length) in a byte stream without
/// looking at payloads. Allocation-free: this runs for every message the pooler forwards.
/// </summary>
public static class FrameScanner
{
    /// <summary>Type byte plus length field.</summary>
    public const int HeaderLength = 5;

    /// <summary>The smallest legal length field: a message with an empty payload.</summary>
    public const int MinLength = 4;

    /// <summary>
    /// Reads a header from the start of <paramref name="input"/>. <see cref="FrameStatus.Complete"/>
    /// means the five header bytes are there and the length is acceptable; the payload may still
    /// be arriving, which lets a forwarder pass a large message on in pieces.
    /// </summary>
    public static FrameStatus TryReadHeader(ReadOnlySpan<byte> input, int maxLength, out FrameHeader header)
    {
        if (input.Length < HeaderLength)
        {
            header = default;
            return FrameStatus.Incomplete;
        }

        header = new FrameHeader(input[0], BinaryPrimitives.ReadInt32BigEndian(input.Slice(1, 4)));
        return Check(header.DeclaredLength, maxLength);
    }

    /// <inheritdoc cref="TryReadHeader(ReadOnlySpan{byte}, int, out FrameHeader)"/>
    public static FrameStatus TryReadHeader(in ReadOnlySequence<byte> input, int maxLength, out FrameHeader header)
    {
        ReadOnlySpan<byte> first = input.FirstSpan;
        if (first.Length >= HeaderLength)
        {
            return TryReadHeader(first, maxLength, out header);
        }

        if (input.Length < HeaderLength)
        {
            header = default;
            return FrameStatus.Incomplete;
        }

        // The header straddles segments: copy its five bytes to the stack.
        Span<byte> scratch = stackalloc byte[HeaderLength];
        input.Slice(0, HeaderLength).CopyTo(scratch);
        return TryReadHeader(scratch, maxLength, out header);
    }

    /// <summary>
    /// Reads one whole frame from the start of <paramref name="input"/>. On
    /// <see cref="FrameStatus.Complete"/>, <paramref name="frameEnd"/> is the position after it.
    /// On <see cref="FrameStatus.Incomplete"/> with a header available, <paramref name="header"/>
    /// is filled so the caller knows how many bytes to wait for.
    /// </summary>
    public static FrameStatus TryRead(
        in ReadOnlySequence<byte> input, int maxLength, out FrameHeader header, out SequencePosition frameEnd)
    {
        frameEnd = default;
        FrameStatus status = TryReadHeader(input, maxLength, out header);
        if (status != FrameStatus.Complete)
        {
            return status;
        }

        if (input.Length < header.FrameLength)
        {
            return FrameStatus.Incomplete;
        }

        frameEnd = input.GetPosition(header.FrameLength);
        return FrameStatus.Complete;
    }

    /// <summary>
    /// Reads one whole frame from a span, e.g. a pipe's FirstSpan: the fast path when a read
    /// holds many small messages. Advance by <see cref="FrameHeader.FrameLength"/> on success.
    /// </summary>
    public static FrameStatus TryReadFrame(
        ReadOnlySpan<byte> input, int maxLength, out FrameHeader header, out ReadOnlySpan<byte> payload)
    {
        payload = default;
        FrameStatus status = TryReadHeader(input, maxLength, out header);
        if (status != FrameStatus.Complete)
        {
            return status;
        }

        if (input.Length < header.FrameLength)
        {
            return FrameStatus.Incomplete;
        }

        payload = input.Slice(HeaderLength, header.PayloadLength);
        return FrameStatus.Complete;
    }

    /// <summary>Like <see cref="TryRead(in ReadOnlySequence{byte}, int, out FrameHeader, out SequencePosition)"/>, also slicing out the payload.</summary>
    public static FrameStatus TryReadFrame(in ReadOnlySequence<byte> input, int maxLength, out Frame frame)
    {
        FrameStatus status = TryRead(input, maxLength, out FrameHeader header, out SequencePosition end);
        if (status != FrameStatus.Complete)
        {
            frame = new Frame(header, default, default);
            return status;
        }

        ReadOnlySequence<byte> payload = input.Slice(HeaderLength, header.PayloadLength);
        frame = new Frame(header, payload, end);
        return FrameStatus.Complete;
    }

    /// <summary>
    /// A sentence for a log line or an ErrorResponse explaining an
    /// <see cref="FrameStatus.Invalid"/> or <see cref="FrameStatus.TooLarge"/> result.
    /// </summary>
    /// <param name="limitName">The setting that holds <paramref name="maxLength"/>, named in the text when given.</param>
    public static string Describe(FrameStatus status, in FrameHeader header, int maxLength, string? limitName = null) =>
        status switch
        {
            FrameStatus.Invalid =>
                $"message of type {TypeName(header.Type)} has length {header.DeclaredLength}, below the minimum {MinLength}",
            FrameStatus.TooLarge =>
                $"message of type {TypeName(header.Type)} declares {header.DeclaredLength} bytes, above the limit of {maxLength}"
                + (limitName is null ? string.Empty : $" ({limitName})"),
            FrameStatus.Incomplete => "message is incomplete",
            _ => "message is complete",
        };

    /// <summary>'Q' for printable ASCII, 0x05 otherwise: random bytes stay readable in logs.</summary>
    public static string TypeName(byte type) =>
        type is >= 0x21 and <= 0x7E ? $"'{(char)type}'" : $"0x{type:X2}";

    private static FrameStatus Check(int declaredLength, int maxLength)
    {
        if (declaredLength < MinLength)
        {
            return FrameStatus.Invalid;
        }

        return declaredLength > maxLength ? FrameStatus.TooLarge : FrameStatus.Complete;
    }
}
