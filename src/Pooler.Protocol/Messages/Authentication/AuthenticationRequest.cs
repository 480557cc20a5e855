using System.Buffers;
using System.Text;

namespace Pooler.Protocol;

/// <summary>The Int32 that says which Authentication* message an 'R' is.</summary>
public enum AuthenticationCode
{
    Ok = 0,
    KerberosV5 = 2,
    CleartextPassword = 3,
    Md5Password = 5,
    Gss = 7,
    GssContinue = 8,
    Sspi = 9,
    Sasl = 10,
    SaslContinue = 11,
    SaslFinal = 12,
}

/// <summary>
/// 'R' from the server, every variant: AuthenticationOk, CleartextPassword, MD5Password (with a
/// 4-byte salt), SASL (mechanism names), SASLContinue and SASLFinal (mechanism data), and the
/// GSS/SSPI ones a pooler only recognizes in order to refuse them.
/// </summary>
public sealed class AuthenticationRequest
{
    public const int Md5SaltLength = 4;

    private AuthenticationRequest(AuthenticationCode code, byte[] data, IReadOnlyList<string> mechanisms)
    {
        Code = code;
        Data = data;
        Mechanisms = mechanisms;
    }

    public static AuthenticationRequest Ok { get; } = new(AuthenticationCode.Ok, [], []);

    public static AuthenticationRequest CleartextPassword { get; } = new(AuthenticationCode.CleartextPassword, [], []);

    public AuthenticationCode Code { get; }

    /// <summary>MD5: the salt. SASLContinue/SASLFinal/GSSContinue: the mechanism data. Otherwise empty.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>SASL: the mechanisms the server offers, e.g. SCRAM-SHA-256. Otherwise empty.</summary>
    public IReadOnlyList<string> Mechanisms { get; }

    public static AuthenticationRequest Md5Password(ReadOnlySpan<byte> salt)
    {
        if (salt.Length != Md5SaltLength)
        {
            throw new ArgumentException($"An MD5 salt is {Md5SaltLength} bytes.", nameof(salt));
        }

        return new AuthenticationRequest(AuthenticationCode.Md5Password, salt.ToArray(), []);
    }

    public static AuthenticationRequest Sasl(params IReadOnlyList<string> mechanisms) =>
        new(AuthenticationCode.Sasl, [], [.. mechanisms]);

    public static AuthenticationRequest SaslContinue(ReadOnlySpan<byte> data) =>
        new(AuthenticationCode.SaslContinue, data.ToArray(), []);

    public static AuthenticationRequest SaslFinal(ReadOnlySpan<byte> data) =>
        new(AuthenticationCode.SaslFinal, data.ToArray(), []);

    /// <summary>Just the code, without allocating.</summary>
    public static AuthenticationCode ReadCode(ReadOnlySpan<byte> payload) =>
        (AuthenticationCode)new PayloadReader(payload, "Authentication").ReadInt32("authentication code");

    public static AuthenticationRequest Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, "Authentication");
        var code = (AuthenticationCode)reader.ReadInt32("authentication code");
        AuthenticationRequest request = code switch
        {
            AuthenticationCode.Ok => Ok,
            AuthenticationCode.CleartextPassword => CleartextPassword,
            AuthenticationCode.KerberosV5 or AuthenticationCode.Gss or AuthenticationCode.Sspi => new(code, [], []),
            AuthenticationCode.Md5Password => new(code, reader.ReadBytes(Md5SaltLength, "MD5 salt").ToArray(), []),
            AuthenticationCode.Sasl => new(code, [], ReadMechanisms(ref reader)),
            AuthenticationCode.SaslContinue or AuthenticationCode.SaslFinal or AuthenticationCode.GssContinue =>
                new(code, reader.ReadRemaining().ToArray(), []),
            _ => throw reader.Violation($"unknown authentication code {(int)code}"),
        };
        reader.ExpectEnd();
        return request;
    }

    public void WriteTo(IBufferWriter<byte> output)
    {
        int length = 4 + Data.Length;
        if (Code == AuthenticationCode.Sasl)
        {
            foreach (string mechanism in Mechanisms)
            {
                length += MessageBuilder.CStringLength(mechanism);
            }

            length += 1;
        }

        var builder = MessageBuilder.Start(output, BackendMessageType.Authentication, length);
        builder.WriteInt32((int)Code);
        builder.WriteBytes(Data.Span);
        if (Code == AuthenticationCode.Sasl)
        {
            foreach (string mechanism in Mechanisms)
            {
                builder.WriteCString(mechanism);
            }

            builder.WriteByte(0);
        }

        builder.Commit();
    }

    public override string ToString() => Code switch
    {
        AuthenticationCode.Sasl => $"Authentication{Code} ({string.Join(", ", Mechanisms)})",
        AuthenticationCode.SaslContinue or AuthenticationCode.SaslFinal => $"Authentication{Code} ({Encoding.UTF8.GetString(Data.Span)})",
        _ => $"Authentication{Code}",
    };

    private static List<string> ReadMechanisms(ref PayloadReader reader)
    {
        var mechanisms = new List<string>();
        while (true)
        {
            string name = reader.ReadCString("SASL mechanism name");
            if (name.Length == 0)
            {
                return mechanisms;
            }

            mechanisms.Add(name);
        }
    }
}
