namespace Pooler.Protocol.Tests;

/// <summary>Bad bytes must end in ProtocolViolationException naming what is wrong, never IndexOutOfRange.</summary>
public sealed class MalformedPayloadTests
{
    public static TheoryData<string, byte[]> Malformed => new()
    {
        { "Query", "select 1"u8.ToArray() },
        { "Query", [.. "select 1\0"u8, 0x41] },
        { "CommandComplete", [] },
        { "ParameterStatus", "TimeZone\0UTC"u8.ToArray() },
        { "ParameterStatus", "TimeZone\0"u8.ToArray() },
        { "BackendKeyData", [0, 0, 0, 1, 0, 0] },
        { "BackendKeyData", [0, 0] },
        { "ReadyForQuery", [] },
        { "ReadyForQuery", [(byte)'X'] },
        { "ReadyForQuery", [(byte)'I', (byte)'I'] },
        { "RowDescription", [0, 1] },
        { "RowDescription", [0, 1, (byte)'a', 0, 0, 0] },
        { "RowDescription", [0xFF, 0xFF] },
        { "RowDescription", [0x7F, 0xFF, 0, 0] },
        { "DataRow", [0, 1, 0, 0, 0, 5, 1, 2] },
        { "DataRow", [0, 1, 0xFF, 0xFF, 0xFF, 0xFE] },
        { "DataRow", [0, 2, 0xFF, 0xFF, 0xFF, 0xFF] },
        { "Parse", "s1\0select 1\0"u8.ToArray() },
        { "Parse", [.. "s1\0select 1\0"u8, 0, 5, 0, 0, 0, 23] },
        { "Bind", "p\0s\0"u8.ToArray() },
        { "Bind", [.. "p\0s\0"u8, 0, 1, 0, 7, 0, 0, 0, 0] },
        { "Bind", [.. "p\0s\0"u8, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0x41, 0, 0] },
        { "Bind", [.. "p\0s\0"u8, 0, 0, 0, 1, 0, 0, 0, 9, 0x41, 0, 0] },
        { "Describe", "Xname\0"u8.ToArray() },
        { "Describe", "S"u8.ToArray() },
        { "Close", [] },
        { "Execute", "p\0\0\0"u8.ToArray() },
        { "Authentication", [0, 0, 0] },
        { "Authentication", [0, 0, 0, 5, 1, 2] },
        { "Authentication", [0, 0, 0, 10, .. "SCRAM-SHA-256"u8] },
        { "Authentication", [0, 0, 0, 99] },
        { "Authentication", [0, 0, 0, 0, 0] },
        { "PasswordMessage", "secret"u8.ToArray() },
        { "SaslInitialResponse", [.. "SCRAM-SHA-256\0"u8, 0, 0, 0, 10, 1] },
        { "SaslInitialResponse", [.. "SCRAM-SHA-256\0"u8, 0xFF, 0xFF, 0xFF, 0xF0] },
        { "StartupMessage", [0, 3, 0, 0, .. "user\0alice\0"u8] },
        { "StartupMessage", [0, 3, 0, 0, .. "user\0alice"u8] },
        { "StartupMessage", [0, 2, 0, 0, 0] },
        { "StartupMessage", [0, 3, 0, 0, 0, 0] },
        { "CancelRequest", [0x04, 0xD2, 0x16, 0x2E, 0, 0, 0, 1, 0, 0] },
        { "CancelRequest", [0x04, 0xD2, 0x16, 0x2F, 0, 0, 0, 1, 0, 0, 0, 1] },
        { "NegotiateProtocolVersion", [0, 0, 0, 0, 0x7F, 0, 0, 0] },
        { "NotificationResponse", [0, 0, 0, 1, .. "chan\0"u8] },
        { "ParameterDescription", [0, 2, 0, 0, 0, 23] },
        { "CopyInResponse", [2, 0, 0] },
        { "CopyInResponse", [0, 0, 1, 0, 5] },
        { "CopyFail", "oops"u8.ToArray() },
        { "ErrorResponse", [] },
        { "NoticeResponse", "Mhello\0"u8.ToArray() },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_payload_is_a_protocol_violation(string message, byte[] payload)
    {
        Action read = Reader(message, payload);

        var ex = Assert.Throws<ProtocolViolationException>(read);
        Assert.StartsWith("invalid ", ex.Message);
    }

    [Fact]
    public void Violation_message_names_the_message_the_field_and_the_shortfall()
    {
        var ex = Assert.Throws<ProtocolViolationException>(() => BackendKeyData.Read([0, 0]));

        Assert.Equal("invalid BackendKeyData message: payload ends before process id (needs 4 bytes at offset 0, 2 left)", ex.Message);
    }

    [Fact]
    public void Every_truncation_of_a_valid_payload_fails_cleanly()
    {
        byte[][] payloads =
        [
            Wire.Single(Wire.Bytes(new Bind("p", "s", [FormatCode.Binary], [[1, 2, 3], null], [FormatCode.Text]).WriteTo)).Payload,
            Wire.Single(Wire.Bytes(RowDescription.FromFields(FieldDescription.Text("a"), FieldDescription.Int8("b")).WriteTo)).Payload,
            Wire.Single(Wire.Bytes(DataRow.FromText("a", null, "ccc").WriteTo)).Payload,
            Wire.Single(Wire.Bytes(ErrorResponse.Create("ERROR", "42P01", "no such table").WriteTo)).Payload,
            Wire.Single(Wire.Bytes(new Parse("s", "select $1", [23]).WriteTo)).Payload,
        ];
        Action<byte[]>[] readers =
        [
            p => Bind.Read(p),
            p => RowDescription.Read(p),
            p => DataRow.Read(p),
            p => ErrorResponse.Read(p),
            p => Parse.Read(p),
        ];

        for (int i = 0; i < payloads.Length; i++)
        {
            for (int length = 0; length < payloads[i].Length; length++)
            {
                byte[] truncated = payloads[i][..length];
                Assert.Throws<ProtocolViolationException>(() => readers[i](truncated));
            }
        }
    }

    [Fact]
    public void Random_bytes_never_escape_as_anything_but_a_protocol_violation()
    {
        var random = new Random(12345);
        Action<byte[]>[] readers =
        [
            p => Bind.Read(p), p => RowDescription.Read(p), p => DataRow.Read(p), p => ErrorResponse.Read(p),
            p => Parse.Read(p), p => StartupMessage.Read(p), p => AuthenticationRequest.Read(p), p => CopyResponse.Read((byte)'G', p),
            p => NegotiateProtocolVersion.Read(p), p => SaslInitialResponse.Read(p), p => ParameterDescription.Read(p),
        ];

        for (int round = 0; round < 2000; round++)
        {
            byte[] payload = new byte[random.Next(0, 24)];
            random.NextBytes(payload);
            foreach (Action<byte[]> read in readers)
            {
                try
                {
                    read(payload);
                }
                catch (ProtocolViolationException)
                {
                }
            }
        }
    }

    private static Action Reader(string message, byte[] payload) => message switch
    {
        "Query" => () => Query.Read(payload),
        "CommandComplete" => () => CommandComplete.Read(payload),
        "ParameterStatus" => () => ParameterStatus.Read(payload),
        "BackendKeyData" => () => BackendKeyData.Read(payload),
        "ReadyForQuery" => () => ReadyForQuery.Read(payload),
        "RowDescription" => () => RowDescription.Read(payload),
        "DataRow" => () => DataRow.Read(payload),
        "Parse" => () => Parse.Read(payload),
        "Bind" => () => Bind.Read(payload),
        "Describe" => () => Describe.Read(payload),
        "Close" => () => Close.Read(payload),
        "Execute" => () => Execute.Read(payload),
        "Authentication" => () => AuthenticationRequest.Read(payload),
        "PasswordMessage" => () => PasswordMessage.Read(payload),
        "SaslInitialResponse" => () => SaslInitialResponse.Read(payload),
        "StartupMessage" => () => StartupMessage.Read(payload),
        "CancelRequest" => () => CancelRequest.Read(payload),
        "NegotiateProtocolVersion" => () => NegotiateProtocolVersion.Read(payload),
        "NotificationResponse" => () => NotificationResponse.Read(payload),
        "ParameterDescription" => () => ParameterDescription.Read(payload),
        "CopyInResponse" => () => CopyResponse.Read(BackendMessageType.CopyInResponse, payload),
        "CopyFail" => () => CopyFail.Read(payload),
        "ErrorResponse" => () => ErrorResponse.Read(payload),
        "NoticeResponse" => () => NoticeResponse.Read(payload),
        _ => throw new ArgumentException(message),
    };
}
