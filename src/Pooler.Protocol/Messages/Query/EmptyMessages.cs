using System.Buffers;

namespace Pooler.Protocol;

/// <summary>Messages that are only a type byte and the length 4.</summary>
internal static class EmptyMessage
{
    public static void Write(IBufferWriter<byte> output, byte type) => MessageBuilder.Start(output, type, 0).Commit();

    public static void Read(ReadOnlySpan<byte> payload, string messageName)
    {
        if (!payload.IsEmpty)
        {
            throw new ProtocolViolationException($"invalid {messageName} message: expected no payload, got {payload.Length} bytes");
        }
    }
}

/// <summary>'S' from the client: end of an extended-query batch; the server answers with ReadyForQuery.</summary>
public static class Sync
{
    public static void Write(IBufferWriter<byte> output) => EmptyMessage.Write(output, FrontendMessageType.Sync);

    public static void Read(ReadOnlySpan<byte> payload) => EmptyMessage.Read(payload, nameof(Sync));
}

/// <summary>'H' from the client: send what you have, without ending the batch.</summary>
public static class Flush
{
    public static void Write(IBufferWriter<byte> output) => EmptyMessage.Write(output, FrontendMessageType.Flush);

    public static void Read(ReadOnlySpan<byte> payload) => EmptyMessage.Read(payload, nameof(Flush));
}

/// <summary>'X' from the client: the session ends; the server closes without answering.</summary>
public static class Terminate
{
    public static void Write(IBufferWriter<byte> output) => EmptyMessage.Write(output, FrontendMessageType.Terminate);

    public static void Read(ReadOnlySpan<byte> payload) => EmptyMessage.Read(payload, nameof(Terminate));
}

/// <summary>'c' in either direction: the COPY data stream is finished.</summary>
public static class CopyDone
{
    public static void Write(IBufferWriter<byte> output) => EmptyMessage.Write(output, FrontendMessageType.CopyDone);

    public static void Read(ReadOnlySpan<byte> payload) => EmptyMessage.Read(payload, nameof(CopyDone));
}

/// <summary>'I': the query string was empty; stands in for CommandComplete.</summary>
public static class EmptyQueryResponse
{
    public static void Write(IBufferWriter<byte> output) => EmptyMessage.Write(output, BackendMessageType.EmptyQueryResponse);

    public static void Read(ReadOnlySpan<byte> payload) => EmptyMessage.Read(payload, nameof(EmptyQueryResponse));
}

/// <summary>'1': a Parse succeeded.</summary>
public static class ParseComplete
{
    public static void Write(IBufferWriter<byte> output) => EmptyMessage.Write(output, BackendMessageType.ParseComplete);

    public static void Read(ReadOnlySpan<byte> payload) => EmptyMessage.Read(payload, nameof(ParseComplete));
}

/// <summary>'2': a Bind succeeded.</summary>
public static class BindComplete
{
    public static void Write(IBufferWriter<byte> output) => EmptyMessage.Write(output, BackendMessageType.BindComplete);

    public static void Read(ReadOnlySpan<byte> payload) => EmptyMessage.Read(payload, nameof(BindComplete));
}

/// <summary>'3': a Close succeeded.</summary>
public static class CloseComplete
{
    public static void Write(IBufferWriter<byte> output) => EmptyMessage.Write(output, BackendMessageType.CloseComplete);

    public static void Read(ReadOnlySpan<byte> payload) => EmptyMessage.Read(payload, nameof(CloseComplete));
}

/// <summary>'n': the described statement or portal returns no rows.</summary>
public static class NoData
{
    public static void Write(IBufferWriter<byte> output) => EmptyMessage.Write(output, BackendMessageType.NoData);

    public static void Read(ReadOnlySpan<byte> payload) => EmptyMessage.Read(payload, nameof(NoData));
}

/// <summary>'s': an Execute stopped at its row limit; the portal can be executed again.</summary>
public static class PortalSuspended
{
    public static void Write(IBufferWriter<byte> output) => EmptyMessage.Write(output, BackendMessageType.PortalSuspended);

    public static void Read(ReadOnlySpan<byte> payload) => EmptyMessage.Read(payload, nameof(PortalSuspended));
}
