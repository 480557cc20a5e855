namespace Pooler.Protocol;

/// <summary>
/// The eight bytes in front of a startup-phase packet, which has no type byte: an Int32 length
/// that counts itself, then an Int32 code (<see cref="StartupCode"/>).
/// </summary>
/// <param name="DeclaredLength">The length field as sent, including itself.</param>
/// <param name="Code">A protocol version or a request code; 0 when the length was rejected before the code was read.</param>
public readonly record struct StartupFrameHeader(int DeclaredLength, int Code)
{
    /// <summary>Bytes after the length field; they start with <see cref="Code"/>.</summary>
    public int PayloadLength => DeclaredLength - 4;

    /// <summary>Bytes the whole packet occupies on the wire.</summary>
    public int FrameLength => DeclaredLength;

    public StartupRequestKind Kind => Code switch
    {
        StartupCode.SslRequest => StartupRequestKind.SslRequest,
        StartupCode.GssEncRequest => StartupRequestKind.GssEncRequest,
        StartupCode.CancelRequest => StartupRequestKind.CancelRequest,
        _ when StartupCode.MajorVersion(Code) == 3 => StartupRequestKind.StartupMessage,
        _ => StartupRequestKind.Unsupported,
    };
}
