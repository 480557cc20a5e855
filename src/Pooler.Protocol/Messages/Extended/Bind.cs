using System.Buffers;

namespace Pooler.Protocol;

/// <summary>
/// 'B': make portal <see cref="Portal"/> from prepared statement <see cref="Statement"/> with
/// these parameter values (null is SQL NULL). Format lists follow the protocol's rule: empty
/// means all text, one entry applies to all, otherwise one per parameter / result column.
/// </summary>
public sealed record Bind(
    string Portal,
    string Statement,
    IReadOnlyList<FormatCode> ParameterFormats,
    IReadOnlyList<byte[]?> Parameters,
    IReadOnlyList<FormatCode> ResultFormats)
{
    /// <summary>Unnamed portal, all text, no parameters.</summary>
    public Bind(string statement)
        : this(string.Empty, statement, [], [], [])
    {
    }

    public static Bind Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(Bind));
        string portal = reader.ReadCString("portal name");
        string statement = reader.ReadCString("statement name");
        FormatCode[] parameterFormats = ReadFormats(ref reader, "parameter format");

        int count = reader.ReadCount("parameter count");
        if (count > reader.Remaining / 4)
        {
            throw reader.Violation($"parameter count {count} does not fit the payload");
        }

        if (parameterFormats.Length > 1 && parameterFormats.Length != count)
        {
            throw reader.Violation($"{parameterFormats.Length} parameter formats for {count} parameters");
        }

        var parameters = new byte[]?[count];
        for (int i = 0; i < count; i++)
        {
            parameters[i] = reader.ReadNullableBytes("parameter value");
        }

        FormatCode[] resultFormats = ReadFormats(ref reader, "result format");
        reader.ExpectEnd();
        return new Bind(portal, statement, parameterFormats, parameters, resultFormats);
    }

    /// <summary>The statement name's UTF-8 bytes, without decoding the rest.</summary>
    public static ReadOnlySpan<byte> ReadStatementName(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(Bind));
        reader.ReadCStringBytes("portal name");
        return reader.ReadCStringBytes("statement name");
    }

    public void WriteTo(IBufferWriter<byte> output)
    {
        int length = MessageBuilder.CStringLength(Portal) + MessageBuilder.CStringLength(Statement)
            + 2 + (2 * ParameterFormats.Count) + 2 + 2 + (2 * ResultFormats.Count);
        foreach (byte[]? value in Parameters)
        {
            length = checked(length + 4 + (value?.Length ?? 0));
        }

        var builder = MessageBuilder.Start(output, FrontendMessageType.Bind, length);
        builder.WriteCString(Portal);
        builder.WriteCString(Statement);
        WriteFormats(ref builder, ParameterFormats);
        builder.WriteInt16(checked((short)Parameters.Count));
        foreach (byte[]? value in Parameters)
        {
            builder.WriteNullableBytes(value, value is null);
        }

        WriteFormats(ref builder, ResultFormats);
        builder.Commit();
    }

    private static FormatCode[] ReadFormats(ref PayloadReader reader, string field)
    {
        int count = reader.ReadCount($"{field} count");
        if (count > reader.Remaining / 2)
        {
            throw reader.Violation($"{field} count {count} does not fit the payload");
        }

        var formats = new FormatCode[count];
        for (int i = 0; i < count; i++)
        {
            short code = reader.ReadInt16(field);
            if (code is not (0 or 1))
            {
                throw reader.Violation($"{field} {code} is neither 0 (text) nor 1 (binary)");
            }

            formats[i] = (FormatCode)code;
        }

        return formats;
    }

    private static void WriteFormats(ref MessageBuilder builder, IReadOnlyList<FormatCode> formats)
    {
        builder.WriteInt16(checked((short)formats.Count));
        foreach (FormatCode format in formats)
        {
            builder.WriteInt16((short)format);
        }
    }
}
