using System.Buffers.Binary;
using System.Text;

namespace Pooler.Protocol;

/// <summary>
/// Reads the fields of one message payload in order. Every read checks that the bytes are
/// there and throws <see cref="ProtocolViolationException"/> naming the message and the field
/// otherwise, so a malformed packet can never surface as an IndexOutOfRangeException.
/// </summary>
public ref struct PayloadReader
{
    private readonly ReadOnlySpan<byte> _payload;
    private readonly string _messageName;
    private int _offset;

    /// <param name="messageName">Used in error messages, e.g. "RowDescription".</param>
    public PayloadReader(ReadOnlySpan<byte> payload, string messageName)
    {
        _payload = payload;
        _messageName = messageName;
        _offset = 0;
    }

    public readonly int Offset => _offset;

    public readonly int Remaining => _payload.Length - _offset;

    public byte ReadByte(string field) => Take(1, field)[0];

    public short ReadInt16(string field) => BinaryPrimitives.ReadInt16BigEndian(Take(2, field));

    public int ReadInt32(string field) => BinaryPrimitives.ReadInt32BigEndian(Take(4, field));

    /// <summary>Object ids travel as Int32 but are unsigned in PostgreSQL.</summary>
    public uint ReadOid(string field) => BinaryPrimitives.ReadUInt32BigEndian(Take(4, field));

    public ReadOnlySpan<byte> ReadBytes(int count, string field)
    {
        if (count < 0)
        {
            throw Violation($"{field} has negative length {count}");
        }

        return Take(count, field);
    }

    /// <summary>Everything not read yet, for "Byte<i>n</i>" fields that run to the end of the message.</summary>
    public ReadOnlySpan<byte> ReadRemaining()
    {
        ReadOnlySpan<byte> rest = _payload.Slice(_offset);
        _offset = _payload.Length;
        return rest;
    }

    /// <summary>A NUL-terminated string's bytes, without the NUL.</summary>
    public ReadOnlySpan<byte> ReadCStringBytes(string field)
    {
        ReadOnlySpan<byte> rest = _payload.Slice(_offset);
        int nul = rest.IndexOf((byte)0);
        if (nul < 0)
        {
            throw Violation(rest.IsEmpty
                ? $"payload ends before {field}"
                : $"{field} is missing its NUL terminator");
        }

        _offset += nul + 1;
        return rest.Slice(0, nul);
    }

    /// <summary>
    /// A NUL-terminated string decoded as UTF-8. Invalid sequences become U+FFFD rather than an
    /// error: servers send text in client_encoding, which need not be UTF-8.
    /// </summary>
    public string ReadCString(string field) => Encoding.UTF8.GetString(ReadCStringBytes(field));

    /// <summary>A length-prefixed value: Int32 length, -1 meaning NULL, then that many bytes.</summary>
    public byte[]? ReadNullableBytes(string field)
    {
        int length = ReadInt32(field);
        if (length == -1)
        {
            return null;
        }

        return ReadBytes(length, field).ToArray();
    }

    /// <summary>An Int16 count that must not be negative.</summary>
    public int ReadCount(string field)
    {
        short count = ReadInt16(field);
        if (count < 0)
        {
            throw Violation($"{field} is negative ({count})");
        }

        return count;
    }

    /// <summary>Fails if bytes are left over, as PostgreSQL's pq_getmsgend does: a message longer than its fields is malformed.</summary>
    public readonly void ExpectEnd()
    {
        if (_offset != _payload.Length)
        {
            throw Violation($"{_payload.Length - _offset} unexpected bytes after the last field");
        }
    }

    public readonly ProtocolViolationException Violation(string problem) =>
        new($"invalid {_messageName} message: {problem}");

    private ReadOnlySpan<byte> Take(int count, string field)
    {
        if (count > _payload.Length - _offset)
        {
            throw Violation(
                $"payload ends before {field} (needs {count} bytes at offset {_offset}, {_payload.Length - _offset} left)");
        }

        ReadOnlySpan<byte> bytes = _payload.Slice(_offset, count);
        _offset += count;
        return bytes;
    }
}
