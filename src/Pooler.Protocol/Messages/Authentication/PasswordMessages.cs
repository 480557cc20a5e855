using System.Buffers;

namespace Pooler.Protocol;

/// <summary>
/// 'p' answering AuthenticationCleartextPassword (the password) or AuthenticationMD5Password
/// ("md5" + hex digest, see <c>Md5Password.Hash</c>).
/// </summary>
public sealed record PasswordMessage(string Password)
{
    public static PasswordMessage Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(PasswordMessage));
        string password = reader.ReadCString("password");
        reader.ExpectEnd();
        return new PasswordMessage(password);
    }

    public void WriteTo(IBufferWriter<byte> output)
    {
        var builder = MessageBuilder.Start(output, FrontendMessageType.Password, MessageBuilder.CStringLength(Password));
        builder.WriteCString(Password);
        builder.Commit();
    }
}

/// <summary>
/// 'p' answering AuthenticationSASL: the chosen mechanism and its first message (for SCRAM the
/// client-first-message). Null data is written as length -1 ("SASL Authentication").
/// </summary>
public sealed record SaslInitialResponse(string Mechanism, byte[]? Data)
{
    public static SaslInitialResponse Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(SaslInitialResponse));
        string mechanism = reader.ReadCString("mechanism name");
        byte[]? data = reader.ReadNullableBytes("initial response");
        reader.ExpectEnd();
        return new SaslInitialResponse(mechanism, data);
    }

    public void WriteTo(IBufferWriter<byte> output)
    {
        int length = MessageBuilder.CStringLength(Mechanism) + 4 + (Data?.Length ?? 0);
        var builder = MessageBuilder.Start(output, FrontendMessageType.Password, length);
        builder.WriteCString(Mechanism);
        builder.WriteNullableBytes(Data, Data is null);
        builder.Commit();
    }
}

/// <summary>'p' answering AuthenticationSASLContinue: mechanism data to the end of the message (for SCRAM the client-final-message).</summary>
public sealed record SaslResponse(byte[] Data)
{
    public static SaslResponse Read(ReadOnlySpan<byte> payload) => new(payload.ToArray());

    public void WriteTo(IBufferWriter<byte> output)
    {
        var builder = MessageBuilder.Start(output, FrontendMessageType.Password, Data.Length);
        builder.WriteBytes(Data);
        builder.Commit();
    }
}
