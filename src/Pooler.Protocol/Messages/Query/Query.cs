using System.Buffers;

namespace Pooler.Protocol;

/// <summary>'Q': a simple-protocol query string, possibly several statements.</summary>
public sealed record Query(string Sql)
{
    public static Query Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(Query));
        string sql = reader.ReadCString("query string");
        reader.ExpectEnd();
        return new Query(sql);
    }

    /// <summary>Writes a Query without creating a <see cref="Query"/>.</summary>
    public static void Write(IBufferWriter<byte> output, string sql)
    {
        var builder = MessageBuilder.Start(output, FrontendMessageType.Query, MessageBuilder.CStringLength(sql));
        builder.WriteCString(sql);
        builder.Commit();
    }

    public void WriteTo(IBufferWriter<byte> output) => Write(output, Sql);
}

/// <summary>'C': a command finished; the tag says which and often how many rows ("SELECT 3", "INSERT 0 1").</summary>
public sealed record CommandComplete(string Tag)
{
    public static CommandComplete Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(CommandComplete));
        string tag = reader.ReadCString("command tag");
        reader.ExpectEnd();
        return new CommandComplete(tag);
    }

    public static void Write(IBufferWriter<byte> output, string tag)
    {
        var builder = MessageBuilder.Start(output, BackendMessageType.CommandComplete, MessageBuilder.CStringLength(tag));
        builder.WriteCString(tag);
        builder.Commit();
    }

    public void WriteTo(IBufferWriter<byte> output) => Write(output, Tag);
}
