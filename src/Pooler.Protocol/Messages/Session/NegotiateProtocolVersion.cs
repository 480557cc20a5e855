using System.Buffers;

namespace Pooler.Protocol;

/// <summary>
/// 'v': the server does not support the minor protocol version the client asked for, or some
/// _pq_.* options in the StartupMessage; it names the newest minor version it does support.
/// </summary>
public sealed record NegotiateProtocolVersion(int NewestMinorVersion, IReadOnlyList<string> UnrecognizedOptions)
{
    public static NegotiateProtocolVersion Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(NegotiateProtocolVersion));
        int minor = reader.ReadInt32("newest minor version");
        int count = reader.ReadInt32("number of unrecognized options");
        if (count < 0 || count > reader.Remaining)
        {
            throw reader.Violation($"option count {count} does not fit the payload");
        }

        var options = new string[count];
        for (int i = 0; i < count; i++)
        {
            options[i] = reader.ReadCString("option name");
        }

        reader.ExpectEnd();
        return new NegotiateProtocolVersion(minor, options);
    }

    public void WriteTo(IBufferWriter<byte> output)
    {
        int length = 8;
        foreach (string option in UnrecognizedOptions)
        {
            length += MessageBuilder.CStringLength(option);
        }

        var builder = MessageBuilder.Start(output, BackendMessageType.NegotiateProtocolVersion, length);
        builder.WriteInt32(NewestMinorVersion);
        builder.WriteInt32(UnrecognizedOptions.Count);
        foreach (string option in UnrecognizedOptions)
        {
            builder.WriteCString(option);
        }

        builder.Commit();
    }
}
