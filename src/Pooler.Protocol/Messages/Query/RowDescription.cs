using System.Buffers;

namespace Pooler.Protocol;

/// <summary>One column of a RowDescription.</summary>
/// <param name="Name">Column name.</param>
/// <param name="TableOid">The table's OID when the column is a plain table column, else 0.</param>
/// <param name="ColumnAttributeNumber">The column's attribute number in that table, else 0.</param>
/// <param name="TypeOid">The data type's OID.</param>
/// <param name="TypeSize">pg_type.typlen: negative for variable-width types.</param>
/// <param name="TypeModifier">pg_attribute.atttypmod; -1 when none.</param>
/// <param name="Format">Format of this column's values in the DataRows that follow.</param>
public readonly record struct FieldDescription(
    string Name,
    uint TableOid,
    short ColumnAttributeNumber,
    uint TypeOid,
    short TypeSize,
    int TypeModifier,
    FormatCode Format)
{
    /// <summary>A computed text column, what an admin console sends for most values.</summary>
    public static FieldDescription Text(string name) => new(name, 0, 0, TypeOids.Text, -1, -1, FormatCode.Text);

    /// <summary>A computed bigint column (values still sent as text).</summary>
    public static FieldDescription Int8(string name) => new(name, 0, 0, TypeOids.Int8, 8, -1, FormatCode.Text);

    /// <summary>A computed integer column (values still sent as text).</summary>
    public static FieldDescription Int4(string name) => new(name, 0, 0, TypeOids.Int4, 4, -1, FormatCode.Text);
}

/// <summary>OIDs of built-in types a pooler describes columns with (pg_type.dat).</summary>
public static class TypeOids
{
    public const uint Bool = 16;
    public const uint Int8 = 20;
    public const uint Int2 = 21;
    public const uint Int4 = 23;
    public const uint Text = 25;
    public const uint Oid = 26;
    public const uint Float8 = 701;
    public const uint Varchar = 1043;
    public const uint Timestamptz = 1184;
    public const uint Numeric = 1700;
}

/// <summary>'T': the columns of the rows about to follow.</summary>
public sealed record RowDescription(IReadOnlyList<FieldDescription> Fields)
{
    private const int FixedFieldBytes = 4 + 2 + 4 + 2 + 4 + 2;

    public static RowDescription Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(RowDescription));
        int count = reader.ReadCount("field count");

        // Each field takes at least 19 bytes; check before allocating so a bogus count cannot make us allocate much.
        if (count > reader.Remaining / (FixedFieldBytes + 1))
        {
            throw reader.Violation($"field count {count} does not fit the payload");
        }

        var fields = new FieldDescription[count];
        for (int i = 0; i < count; i++)
        {
            fields[i] = new FieldDescription(
                reader.ReadCString("field name"),
                reader.ReadOid("table oid"),
                reader.ReadInt16("column attribute number"),
                reader.ReadOid("type oid"),
                reader.ReadInt16("type size"),
                reader.ReadInt32("type modifier"),
                (FormatCode)reader.ReadInt16("format code"));
        }

        reader.ExpectEnd();
        return new RowDescription(fields);
    }

    public static RowDescription FromFields(params FieldDescription[] fields) => new(fields);

    public void WriteTo(IBufferWriter<byte> output)
    {
        int length = 2;
        foreach (FieldDescription field in Fields)
        {
            length += MessageBuilder.CStringLength(field.Name) + FixedFieldBytes;
        }

        var builder = MessageBuilder.Start(output, BackendMessageType.RowDescription, length);
        builder.WriteInt16(checked((short)Fields.Count));
        foreach (FieldDescription field in Fields)
        {
            builder.WriteCString(field.Name);
            builder.WriteOid(field.TableOid);
            builder.WriteInt16(field.ColumnAttributeNumber);
            builder.WriteOid(field.TypeOid);
            builder.WriteInt16(field.TypeSize);
            builder.WriteInt32(field.TypeModifier);
            builder.WriteInt16((short)field.Format);
        }

        builder.Commit();
    }
}
