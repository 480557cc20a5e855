using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Pooler.Protocol;

/// <summary>
/// Writes one message straight into an <see cref="IBufferWriter{T}"/>: the caller computes the
/// payload length first (<see cref="CStringLength"/> helps), writes the fields, then
/// <see cref="Commit"/>s. One GetSpan and one Advance per message, no intermediate buffer.
/// </summary>
public ref struct MessageBuilder
{
    private readonly IBufferWriter<byte> _output;
    private readonly Span<byte> _span;
    private int _position;

    private MessageBuilder(IBufferWriter<byte> output, int frameLength)
    {
        _output = output;
        _span = output.GetSpan(frameLength).Slice(0, frameLength);
        _position = 0;
    }

    /// <summary>Starts a regular message: type byte and length are written now.</summary>
    public static MessageBuilder Start(IBufferWriter<byte> output, byte type, int payloadLength)
    {
        ArgumentNullException.ThrowIfNull(output);
        int frameLength = checked(payloadLength + FrameScanner.HeaderLength);
        var builder = new MessageBuilder(output, frameLength);
        builder.WriteByte(type);
        builder.WriteInt32(checked(payloadLength + 4));
        return builder;
    }

    /// <summary>Starts a startup-phase packet, which has no type byte.</summary>
    public static MessageBuilder StartUntyped(IBufferWriter<byte> output, int payloadLength)
    {
        ArgumentNullException.ThrowIfNull(output);
        int frameLength = checked(payloadLength + 4);
        var builder = new MessageBuilder(output, frameLength);
        builder.WriteInt32(frameLength);
        return builder;
    }

    /// <summary>UTF-8 length of <paramref name="value"/> plus its NUL terminator.</summary>
    /// <exception cref="ArgumentException">The string holds a NUL, which would end it early on the wire and shift every later field.</exception>
    public static int CStringLength(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Contains('\0'))
        {
            throw new ArgumentException("A protocol string cannot contain a NUL character.", nameof(value));
        }

        return Encoding.UTF8.GetByteCount(value) + 1;
    }

    public void WriteByte(byte value) => _span[_position++] = value;

    public void WriteInt16(short value)
    {
        BinaryPrimitives.WriteInt16BigEndian(_span.Slice(_position), value);
        _position += 2;
    }

    public void WriteInt32(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(_span.Slice(_position), value);
        _position += 4;
    }

    public void WriteOid(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_span.Slice(_position), value);
        _position += 4;
    }

    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        value.CopyTo(_span.Slice(_position));
        _position += value.Length;
    }

    /// <summary>Writes UTF-8 and a NUL; the length must have been counted with <see cref="CStringLength"/>.</summary>
    public void WriteCString(string value)
    {
        _position += Encoding.UTF8.GetBytes(value, _span.Slice(_position));
        _span[_position++] = 0;
    }

    /// <summary>Writes UTF-8 without a terminator; the length must have been counted.</summary>
    public void WriteUtf8(string value) => _position += Encoding.UTF8.GetBytes(value, _span.Slice(_position));

    /// <summary>Int32 length (-1 for null) followed by the bytes.</summary>
    public void WriteNullableBytes(ReadOnlySpan<byte> value, bool isNull)
    {
        if (isNull)
        {
            WriteInt32(-1);
            return;
        }

        WriteInt32(value.Length);
        WriteBytes(value);
    }

    /// <summary>Hands the message to the writer. Fails if the fields did not fill the declared length exactly.</summary>
    public void Commit()
    {
        if (_position != _span.Length)
        {
            throw new InvalidOperationException(
                $"Message declared {_span.Length} bytes but {_position} were written.");
        }

        _output.Advance(_position);
    }
}
