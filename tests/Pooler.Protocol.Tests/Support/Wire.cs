using System.Buffers;

namespace Pooler.Protocol.Tests.Support;

/// <summary>Turns writers into bytes and bytes back into single frames.</summary>
internal static class Wire
{
    public const int MaxLength = 1 << 20;

    public static byte[] Bytes(Action<IBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Scans exactly one regular message out of <paramref name="bytes"/> and returns its type and payload.</summary>
    public static (byte Type, byte[] Payload) Single(byte[] bytes)
    {
        var input = new ReadOnlySequence<byte>(bytes);
        Assert.Equal(FrameStatus.Complete, FrameScanner.TryReadFrame(input, MaxLength, out Frame frame));
        Assert.Equal(bytes.Length, frame.Header.FrameLength);
        return (frame.Type, frame.Payload.ToArray());
    }

    /// <summary>Scans exactly one startup-phase packet and returns its header and payload.</summary>
    public static (StartupFrameHeader Header, byte[] Payload) SingleStartup(byte[] bytes)
    {
        var input = new ReadOnlySequence<byte>(bytes);
        Assert.Equal(
            FrameStatus.Complete,
            StartupFrameScanner.TryReadFrame(input, StartupFrameScanner.DefaultMaxLength, out StartupFrame frame));
        Assert.Equal(bytes.Length, frame.Header.FrameLength);
        return (frame.Header, frame.Payload.ToArray());
    }

    /// <summary>Builds a raw frame: type, a length that counts itself, then the payload as given.</summary>
    public static byte[] Frame(byte type, params byte[] payload)
    {
        var bytes = new byte[5 + payload.Length];
        bytes[0] = type;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(1), payload.Length + 4);
        payload.CopyTo(bytes, 5);
        return bytes;
    }
}
