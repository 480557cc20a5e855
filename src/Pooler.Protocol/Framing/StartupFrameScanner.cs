using System.Buffers;
using System.Buffers.Binary;

namespace Pooler.Protocol;

/// <summary>
/// Finds the first packet(s) of a connection, which have no type byte. Also checks the fixed
/// sizes of SSLRequest/GSSENCRequest and the size range of CancelRequest, so a caller can trust
/// <see cref="StartupFrameHeader.Kind"/> once the status is <see cref="FrameStatus.Complete"/>.
/// </summary>
public static class StartupFrameScanner
{
    /// <summary>Length field plus code.</summary>
    public const int HeaderLength = 8;

    /// <summary>PostgreSQL refuses startup packets above 10000 bytes (MAX_STARTUP_PACKET_LENGTH).</summary>
    public const int DefaultMaxLength = 10000;

    /// <summary>Length, code, process id, and a 4-byte key (protocol 3.0).</summary>
    public const int MinCancelLength = 16;

    /// <summary>Protocol 3.2 allows cancel keys of up to 256 bytes.</summary>
    public const int MaxCancelLength = 12 + CancelRequest.MaxSecretKeyLength;

    public static FrameStatus TryRead(
        in ReadOnlySequence<byte> input, int maxLength, out StartupFrameHeader header, out SequencePosition frameEnd)
    {
        frameEnd = default;
        header = default;
        if (input.Length < 4)
        {
            return FrameStatus.Incomplete;
        }

        Span<byte> scratch = stackalloc byte[HeaderLength];
        int available = (int)Math.Min(input.Length, HeaderLength);
        input.Slice(0, available).CopyTo(scratch);
        int length = BinaryPrimitives.ReadInt32BigEndian(scratch);

        // Judge the length before waiting for the code: a client that sends a bad length and
        // then nothing should get its error now, not a timeout.
        header = new StartupFrameHeader(length, 0);
        if (length < HeaderLength)
        {
            return FrameStatus.Invalid;
        }

        if (length > maxLength)
        {
            return FrameStatus.TooLarge;
        }

        if (available < HeaderLength)
        {
            return FrameStatus.Incomplete;
        }

        header = new StartupFrameHeader(length, BinaryPrimitives.ReadInt32BigEndian(scratch.Slice(4)));
        if (!HasValidSize(header))
        {
            return FrameStatus.Invalid;
        }

        if (input.Length < length)
        {
            return FrameStatus.Incomplete;
        }

        frameEnd = input.GetPosition(length);
        return FrameStatus.Complete;
    }

    public static FrameStatus TryReadFrame(in ReadOnlySequence<byte> input, int maxLength, out StartupFrame frame)
    {
        FrameStatus status = TryRead(input, maxLength, out StartupFrameHeader header, out SequencePosition end);
        ReadOnlySequence<byte> payload = status == FrameStatus.Complete
            ? input.Slice(4, header.PayloadLength)
            : default;
        frame = new StartupFrame(header, payload, end);
        return status;
    }

    /// <summary>A sentence explaining an <see cref="FrameStatus.Invalid"/> or <see cref="FrameStatus.TooLarge"/> result.</summary>
    public static string Describe(FrameStatus status, in StartupFrameHeader header, int maxLength) =>
        status switch
        {
            FrameStatus.TooLarge =>
                $"startup packet declares {header.DeclaredLength} bytes, above the limit of {maxLength}",
            FrameStatus.Invalid when header.DeclaredLength < HeaderLength =>
                $"startup packet length {header.DeclaredLength} is below the minimum {HeaderLength}",
            FrameStatus.Invalid when header.Kind == StartupRequestKind.CancelRequest =>
                $"CancelRequest length {header.DeclaredLength} is outside {MinCancelLength}..{MaxCancelLength}",
            FrameStatus.Invalid =>
                $"{header.Kind} length {header.DeclaredLength} is not {HeaderLength}",
            FrameStatus.Incomplete => "startup packet is incomplete",
            _ => "startup packet is complete",
        };

    private static bool HasValidSize(in StartupFrameHeader header) => header.Kind switch
    {
        StartupRequestKind.SslRequest or StartupRequestKind.GssEncRequest => header.DeclaredLength == HeaderLength,
        StartupRequestKind.CancelRequest =>
            header.DeclaredLength is >= MinCancelLength and <= MaxCancelLength,
        _ => true,
    };
}
