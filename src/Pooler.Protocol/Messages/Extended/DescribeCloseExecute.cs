using System.Buffers;

namespace Pooler.Protocol;

/// <summary>'D' from the client: describe a prepared statement or a portal.</summary>
public sealed record Describe(StatementOrPortal Kind, string Name)
{
    public static Describe Read(ReadOnlySpan<byte> payload)
    {
        ReadOnlySpan<byte> name = NamedTarget.Read(payload, nameof(Describe), out StatementOrPortal kind);
        return new Describe(kind, System.Text.Encoding.UTF8.GetString(name));
    }

    /// <summary>Kind and name bytes without allocating.</summary>
    public static ReadOnlySpan<byte> ReadTarget(ReadOnlySpan<byte> payload, out StatementOrPortal kind) =>
        NamedTarget.Read(payload, nameof(Describe), out kind);

    public void WriteTo(IBufferWriter<byte> output) => NamedTarget.Write(output, FrontendMessageType.Describe, Kind, Name);
}

/// <summary>'C' from the client: close (deallocate) a prepared statement or a portal.</summary>
public sealed record Close(StatementOrPortal Kind, string Name)
{
    public static Close Read(ReadOnlySpan<byte> payload)
    {
        ReadOnlySpan<byte> name = NamedTarget.Read(payload, nameof(Close), out StatementOrPortal kind);
        return new Close(kind, System.Text.Encoding.UTF8.GetString(name));
    }

    /// <summary>Kind and name bytes without allocating.</summary>
    public static ReadOnlySpan<byte> ReadTarget(ReadOnlySpan<byte> payload, out StatementOrPortal kind) =>
        NamedTarget.Read(payload, nameof(Close), out kind);

    public void WriteTo(IBufferWriter<byte> output) => NamedTarget.Write(output, FrontendMessageType.Close, Kind, Name);
}

/// <summary>'E' from the client: run a portal, returning at most <see cref="MaxRows"/> rows (0 = all).</summary>
public sealed record Execute(string Portal, int MaxRows)
{
    public static Execute Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(Execute));
        string portal = reader.ReadCString("portal name");
        int maxRows = reader.ReadInt32("maximum row count");
        reader.ExpectEnd();
        return new Execute(portal, maxRows);
    }

    public void WriteTo(IBufferWriter<byte> output)
    {
        var builder = MessageBuilder.Start(output, FrontendMessageType.Execute, MessageBuilder.CStringLength(Portal) + 4);
        builder.WriteCString(Portal);
        builder.WriteInt32(MaxRows);
        builder.Commit();
    }
}

/// <summary>The shared layout of Describe and Close: 'S' or 'P', then a name.</summary>
internal static class NamedTarget
{
    public static ReadOnlySpan<byte> Read(ReadOnlySpan<byte> payload, string messageName, out StatementOrPortal kind)
    {
        var reader = new PayloadReader(payload, messageName);
        byte code = reader.ReadByte("target kind");
        kind = code switch
        {
            (byte)StatementOrPortal.Statement => StatementOrPortal.Statement,
            (byte)StatementOrPortal.Portal => StatementOrPortal.Portal,
            _ => throw reader.Violation($"target kind {FrameScanner.TypeName(code)} is neither 'S' nor 'P'"),
        };
        ReadOnlySpan<byte> name = reader.ReadCStringBytes("name");
        reader.ExpectEnd();
        return name;
    }

    public static void Write(IBufferWriter<byte> output, byte type, StatementOrPortal kind, string name)
    {
        var builder = MessageBuilder.Start(output, type, 1 + MessageBuilder.CStringLength(name));
        builder.WriteByte((byte)kind);
        builder.WriteCString(name);
        builder.Commit();
    }
}
