using System.Buffers;

namespace Pooler.Protocol;

/// <summary>
/// SSLRequest: asks the server to switch to TLS. The server answers with the single byte
/// <see cref="Accept"/> or <see cref="Refuse"/>, not with a message.
/// </summary>
public static class SslRequest
{
    public const byte Accept = (byte)'S';
    public const byte Refuse = (byte)'N';

    public static void Write(IBufferWriter<byte> output) => StartupRequest.Write(output, StartupCode.SslRequest);
}

/// <summary>GSSENCRequest: asks for GSSAPI encryption; answered with a single 'G' or 'N' byte.</summary>
public static class GssEncRequest
{
    public const byte Accept = (byte)'G';
    public const byte Refuse = (byte)'N';

    public static void Write(IBufferWriter<byte> output) => StartupRequest.Write(output, StartupCode.GssEncRequest);
}

internal static class StartupRequest
{
    public static void Write(IBufferWriter<byte> output, int code)
    {
        var builder = MessageBuilder.StartUntyped(output, 4);
        builder.WriteInt32(code);
        builder.Commit();
    }
}
