using System.Buffers;

namespace Pooler.Protocol;

/// <summary>'A': a NOTIFY delivered to a session that LISTENs on the channel.</summary>
public sealed record NotificationResponse(int ProcessId, string Channel, string Payload)
{
    public static NotificationResponse Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(NotificationResponse));
        int processId = reader.ReadInt32("process id");
        string channel = reader.ReadCString("channel name");
        string text = reader.ReadCString("notification payload");
        reader.ExpectEnd();
        return new NotificationResponse(processId, channel, text);
    }

    public void WriteTo(IBufferWriter<byte> output)
    {
        var builder = MessageBuilder.Start(
            output,
            BackendMessageType.NotificationResponse,
            4 + MessageBuilder.CStringLength(Channel) + MessageBuilder.CStringLength(Payload));
        builder.WriteInt32(ProcessId);
        builder.WriteCString(Channel);
        builder.WriteCString(Payload);
        builder.Commit();
    }
}
