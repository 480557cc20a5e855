using System.Buffers;
using System.Text;

namespace Pooler.Protocol;

/// <summary>'D': one row; each value is a byte string or NULL (length -1).</summary>
public sealed record DataRow(IReadOnlyList<byte[]?> Values)
{
    public static DataRow Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(DataRow));
        int count = reader.ReadCount("column count");
        if (count > reader.Remaining / 4)
        {
            throw reader.Violation($"column count {count} does not fit the payload");
        }

        var values = new byte[]?[count];
        for (int i = 0; i < count; i++)
        {
            int length = reader.ReadInt32("column length");
            values[i] = length == -1 ? null : reader.ReadBytes(length, "column value").ToArray();
        }

        reader.ExpectEnd();
        return new DataRow(values);
    }

    /// <summary>A row of text values, null meaning SQL NULL.</summary>
    public static DataRow FromText(params string?[] values)
    {
        var bytes = new byte[]?[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            bytes[i] = values[i] is { } text ? Encoding.UTF8.GetBytes(text) : null;
        }

        return new DataRow(bytes);
    }

    /// <summary>Writes a row of text values directly (an admin console's rows), null meaning SQL NULL.</summary>
    public static void WriteText(IBufferWriter<byte> output, params ReadOnlySpan<string?> values)
    {
        int length = 2;
        foreach (string? value in values)
        {
            length += 4 + (value is null ? 0 : Encoding.UTF8.GetByteCount(value));
        }

        var builder = MessageBuilder.Start(output, BackendMessageType.DataRow, length);
        builder.WriteInt16(checked((short)values.Length));
        foreach (string? value in values)
        {
            if (value is null)
            {
                builder.WriteInt32(-1);
                continue;
            }

            builder.WriteInt32(Encoding.UTF8.GetByteCount(value));
            builder.WriteUtf8(value);
        }

        builder.Commit();
    }

    /// <summary>The value at <paramref name="index"/> decoded as UTF-8 text, or null for SQL NULL.</summary>
    public string? GetText(int index) => Values[index] is { } bytes ? Encoding.UTF8.GetString(bytes) : null;

    public void WriteTo(IBufferWriter<byte> output)
    {
        int length = 2;
        foreach (byte[]? value in Values)
        {
            length += 4 + (value?.Length ?? 0);
        }

        var builder = MessageBuilder.Start(output, BackendMessageType.DataRow, length);
        builder.WriteInt16(checked((short)Values.Count));
        foreach (byte[]? value in Values)
        {
            builder.WriteNullableBytes(value, value is null);
        }

        builder.Commit();
    }
}
