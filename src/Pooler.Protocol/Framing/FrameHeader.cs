namespace Pooler.Protocol;

/// <summary>
/// The five bytes in front of every regular message: a type byte and an Int32 length that
/// counts itself but not the type byte ("Message Formats" in the PostgreSQL docs).
/// </summary>
/// <param name="Type">The message type byte, e.g. <see cref="BackendMessageType.ReadyForQuery"/>.</param>
/// <param name="DeclaredLength">The length field as sent: payload length plus the 4 bytes of the field itself.</param>
public readonly record struct FrameHeader(byte Type, int DeclaredLength)
{
    /// <summary>Bytes after the length field.</summary>
    public int PayloadLength => DeclaredLength - 4;

    /// <summary>Bytes the whole frame occupies on the wire (type byte + declared length).</summary>
    public long FrameLength => 1L + DeclaredLength;
}
