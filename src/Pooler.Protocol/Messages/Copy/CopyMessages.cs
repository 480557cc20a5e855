using System.Buffers;

namespace Pooler.Protocol;

/// <summary>'d' in either direction: a chunk of COPY data (chunks need not align with rows).</summary>
public sealed record CopyData(byte[] Data)
{
    public static CopyData Read(ReadOnlySpan<byte> payload) => new(payload.ToArray());

    /// <summary>Writes a chunk without creating a <see cref="CopyData"/>.</summary>
    public static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        var builder = MessageBuilder.Start(output, FrontendMessageType.CopyData, data.Length);
        builder.WriteBytes(data);
        builder.Commit();
    }

    public void WriteTo(IBufferWriter<byte> output) => Write(output, Data);
}

/// <summary>'f' from the client: abort a COPY FROM STDIN with this reason.</summary>
public sealed record CopyFail(string Message)
{
    public static CopyFail Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(CopyFail));
        string message = reader.ReadCString("error message");
        reader.ExpectEnd();
        return new CopyFail(message);
    }

    public void WriteTo(IBufferWriter<byte> output)
    {
        var builder = MessageBuilder.Start(output, FrontendMessageType.CopyFail, MessageBuilder.CStringLength(Message));
        builder.WriteCString(Message);
        builder.Commit();
    }
}

/// <summary>
/// CopyInResponse 'G', CopyOutResponse 'H' or CopyBothResponse 'W': the server enters COPY mode.
/// All three share one layout: overall format (Int8), then a format per column.
/// </summary>
public sealed record CopyResponse(CopyDirection Direction, FormatCode Format, IReadOnlyList<FormatCode> ColumnFormats)
{
    /// <param name="type">The frame's type byte: 'G', 'H' or 'W'.</param>
    public static CopyResponse Read(byte type, ReadOnlySpan<byte> payload)
    {
        CopyDirection direction = type switch
        {
            BackendMessageType.CopyInResponse => CopyDirection.In,
            BackendMessageType.CopyOutResponse => CopyDirection.Out,
            BackendMessageType.CopyBothResponse => CopyDirection.Both,
            _ => throw new ProtocolViolationException($"message type {FrameScanner.TypeName(type)} is not a copy response"),
        };

        var reader = new PayloadReader(payload, BackendMessageType.NameOf(type)!);
        byte overall = reader.ReadByte("overall format");
        FormatCode format = ToFormat(reader, overall);
        int count = reader.ReadCount("column count");
        if (count != reader.Remaining / 2)
        {
            throw reader.Violation($"column count {count} does not match the payload");
        }

        var columns = new FormatCode[count];
        for (int i = 0; i < count; i++)
        {
            short column = reader.ReadInt16("column format");
            columns[i] = ToFormat(reader, column);
        }

        reader.ExpectEnd();
        return new CopyResponse(direction, format, columns);
    }

    public void WriteTo(IBufferWriter<byte> output)
    {
        var builder = MessageBuilder.Start(output, (byte)Direction, 1 + 2 + (2 * ColumnFormats.Count));
        builder.WriteByte((byte)Format);
        builder.WriteInt16(checked((short)ColumnFormats.Count));
        foreach (FormatCode format in ColumnFormats)
        {
            builder.WriteInt16((short)format);
        }

        builder.Commit();
    }

    private static FormatCode ToFormat(in PayloadReader reader, int code) => code switch
    {
        0 => FormatCode.Text,
        1 => FormatCode.Binary,
        _ => throw reader.Violation($"format {code} is neither 0 (text) nor 1 (binary)"),
    };
}
