using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Pooler.Protocol;

namespace Pooler.Core.Admin;

/// <summary>
/// Writes results in the format each column was asked for: text, or binary when a Bind asked
/// (Npgsql does, for every column). Values are encoded by their column's type, as PostgreSQL's
/// send functions do.
/// </summary>
internal static class ResultWriter
{
    /// <summary>RowDescription with the columns' formats, or NoData for a command without rows (Describe's answers).</summary>
    public static void WriteDescription(IBufferWriter<byte> output, IReadOnlyList<FieldDescription> columns,
        IReadOnlyList<FormatCode> formats)
    {
        if (columns.Count == 0)
        {
            NoData.Write(output);
            return;
        }
        var fields = new FieldDescription[columns.Count];
        for (int i = 0; i < fields.Length; i++)
            fields[i] = columns[i] with { Format = FormatOf(formats, i) };
        new RowDescription(fields).WriteTo(output);
    }

    public static void WriteRow(IBufferWriter<byte> output, IReadOnlyList<FieldDescription> columns,
        IReadOnlyList<FormatCode> formats, object?[] row)
    {
        var values = new byte[]?[row.Length];
        for (int i = 0; i < row.Length; i++)
        {
            if (row[i] is not { } value)
                continue; // NULL: length -1 whatever the format
            values[i] = FormatOf(formats, i) == FormatCode.Binary
                ? Binary(columns[i].TypeOid, value)
                : Encoding.UTF8.GetBytes(Text(value));
        }
        new DataRow(values).WriteTo(output);
    }

    /// <summary>The protocol's rule for result format codes: none means all text, one applies to every column, else one per column.</summary>
    public static FormatCode FormatOf(IReadOnlyList<FormatCode> formats, int column) => formats.Count switch
    {
        0 => FormatCode.Text,
        1 => formats[0],
        _ => formats[column],
    };

    private static string Text(object value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";

    private static byte[] Binary(uint typeOid, object value) => typeOid switch
    {
        TypeOids.Int4 => Int4(Convert.ToInt32(value, CultureInfo.InvariantCulture)),
        TypeOids.Numeric => Numeric(Convert.ToInt64(value, CultureInfo.InvariantCulture)),
        _ => Encoding.UTF8.GetBytes(Text(value)), // text's binary form is its bytes
    };

    private static byte[] Int4(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    /// <summary>
    /// An integer in PostgreSQL's numeric binary form (numeric_send): Int16 ndigits, weight, sign
    /// and dscale, then ndigits base-10000 digits, most significant first. Like PostgreSQL, trailing
    /// zero digits are left out (the weight still places the rest), and zero has no digits.
    /// </summary>
    internal static byte[] Numeric(long value)
    {
        const short Positive = 0x0000, Negative = 0x4000;
        // The magnitude as ulong: -long.MinValue does not fit a long.
        ulong magnitude = value < 0 ? (ulong)(-(value + 1)) + 1 : (ulong)value;

        Span<short> digits = stackalloc short[5]; // a ulong has at most 20 decimal digits; least significant first here
        int count = 0;
        for (; magnitude > 0; magnitude /= 10_000)
            digits[count++] = (short)(magnitude % 10_000);
        int trailingZeros = 0;
        while (trailingZeros < count && digits[trailingZeros] == 0)
            trailingZeros++;
        int ndigits = count - trailingZeros;

        var bytes = new byte[8 + (2 * ndigits)];
        BinaryPrimitives.WriteInt16BigEndian(bytes.AsSpan(0), (short)ndigits);
        BinaryPrimitives.WriteInt16BigEndian(bytes.AsSpan(2), (short)Math.Max(count - 1, 0)); // weight: 10000^weight for the first digit
        BinaryPrimitives.WriteInt16BigEndian(bytes.AsSpan(4), value < 0 ? Negative : Positive);
        BinaryPrimitives.WriteInt16BigEndian(bytes.AsSpan(6), 0); // dscale: no digits after the point
        for (int i = 0; i < ndigits; i++)
            BinaryPrimitives.WriteInt16BigEndian(bytes.AsSpan(8 + (2 * i)), digits[count - 1 - i]);
        return bytes;
    }
}
