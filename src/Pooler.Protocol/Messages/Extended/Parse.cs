using System.Buffers;

namespace Pooler.Protocol;

/// <summary>'P': prepare <see cref="Sql"/> as statement <see cref="StatementName"/> ("" is the unnamed statement).</summary>
/// <param name="ParameterTypeOids">Types the client fixes for $1, $2, …; 0 leaves one to the server.</param>
public sealed record Parse(string StatementName, string Sql, IReadOnlyList<uint> ParameterTypeOids)
{
    public Parse(string statementName, string sql)
        : this(statementName, sql, [])
    {
    }

    public static Parse Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(Parse));
        string name = reader.ReadCString("statement name");
        string sql = reader.ReadCString("query string");
        int count = reader.ReadCount("parameter type count");
        if (count > reader.Remaining / 4)
        {
            throw reader.Violation($"parameter type count {count} does not fit the payload");
        }

        var oids = new uint[count];
        for (int i = 0; i < count; i++)
        {
            oids[i] = reader.ReadOid("parameter type oid");
        }

        reader.ExpectEnd();
        return new Parse(name, sql, oids);
    }

    /// <summary>The statement name's UTF-8 bytes, without decoding the rest: for tracking named statements on the forwarding path.</summary>
    public static ReadOnlySpan<byte> ReadStatementName(ReadOnlySpan<byte> payload) =>
        new PayloadReader(payload, nameof(Parse)).ReadCStringBytes("statement name");

    public void WriteTo(IBufferWriter<byte> output)
    {
        int length = MessageBuilder.CStringLength(StatementName) + MessageBuilder.CStringLength(Sql) + 2
            + (4 * ParameterTypeOids.Count);
        var builder = MessageBuilder.Start(output, FrontendMessageType.Parse, length);
        builder.WriteCString(StatementName);
        builder.WriteCString(Sql);
        builder.WriteInt16(checked((short)ParameterTypeOids.Count));
        foreach (uint oid in ParameterTypeOids)
        {
            builder.WriteOid(oid);
        }

        builder.Commit();
    }
}

/// <summary>'t': the parameter types of a described statement.</summary>
public sealed record ParameterDescription(IReadOnlyList<uint> TypeOids)
{
    public static ParameterDescription Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(ParameterDescription));
        int count = reader.ReadCount("parameter count");
        if (count != reader.Remaining / 4)
        {
            throw reader.Violation($"parameter count {count} does not match the payload");
        }

        var oids = new uint[count];
        for (int i = 0; i < count; i++)
        {
            oids[i] = reader.ReadOid("parameter type oid");
        }

        reader.ExpectEnd();
        return new ParameterDescription(oids);
    }

    public void WriteTo(IBufferWriter<byte> output)
    {
        var builder = MessageBuilder.Start(output, BackendMessageType.ParameterDescription, 2 + (4 * TypeOids.Count));
        builder.WriteInt16(checked((short)TypeOids.Count));
        foreach (uint oid in TypeOids)
        {
            builder.WriteOid(oid);
        }

        builder.Commit();
    }
}
