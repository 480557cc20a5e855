using System.Buffers;

namespace Pooler.Protocol;

/// <summary>
/// 'S' from the server: the current value of a run-time parameter the client should know
/// (server_version, client_encoding, DateStyle, TimeZone, …). A pooler replays these when it
/// lends a client a different server connection.
/// </summary>
public sealed record ParameterStatus(string Name, string Value)
{
    public static ParameterStatus Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(ParameterStatus));
        string name = reader.ReadCString("parameter name");
        string value = reader.ReadCString("parameter value");
        reader.ExpectEnd();
        return new ParameterStatus(name, value);
    }

    public void WriteTo(IBufferWriter<byte> output)
    {
        var builder = MessageBuilder.Start(
            output,
            BackendMessageType.ParameterStatus,
            MessageBuilder.CStringLength(Name) + MessageBuilder.CStringLength(Value));
        builder.WriteCString(Name);
        builder.WriteCString(Value);
        builder.Commit();
    }
}
