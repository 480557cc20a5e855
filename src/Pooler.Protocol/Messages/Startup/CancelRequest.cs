using System.Buffers;
using System.Buffers.Binary;

namespace Pooler.Protocol;

/// <summary>
/// Sent on a new connection to cancel the query running on another one, identified by the
/// process id and secret key from its BackendKeyData. Protocol 3.0 keys are 4 bytes; 3.2 keys
/// are 4 to 256 bytes and run to the end of the packet.
/// </summary>
public sealed record CancelRequest(int ProcessId, byte[] SecretKey)
{
    public const int MinSecretKeyLength = 4;
    public const int MaxSecretKeyLength = 256;

    /// <summary>A protocol 3.0 request with a 4-byte key.</summary>
    public CancelRequest(int processId, int secretKey)
        : this(processId, BackendKeyData.KeyBytes(secretKey))
    {
    }

    /// <summary>Reads the payload after the length field (it starts with the cancel code).</summary>
    public static CancelRequest Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(CancelRequest));
        int code = reader.ReadInt32("request code");
        if (code != StartupCode.CancelRequest)
        {
            throw reader.Violation($"request code {code} is not {StartupCode.CancelRequest}");
        }

        int processId = reader.ReadInt32("process id");
        ReadOnlySpan<byte> key = reader.ReadRemaining();
        if (key.Length is < MinSecretKeyLength or > MaxSecretKeyLength)
        {
            throw reader.Violation($"secret key of {key.Length} bytes is outside {MinSecretKeyLength}..{MaxSecretKeyLength}");
        }

        return new CancelRequest(processId, key.ToArray());
    }

    /// <summary>The key as an Int32 when it is the 4-byte protocol 3.0 kind, else null.</summary>
    public int? SecretKeyInt32 => SecretKey.Length == 4 ? BinaryPrimitives.ReadInt32BigEndian(SecretKey) : null;

    public void WriteTo(IBufferWriter<byte> output)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(SecretKey.Length, MinSecretKeyLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(SecretKey.Length, MaxSecretKeyLength);
        var builder = MessageBuilder.StartUntyped(output, 8 + SecretKey.Length);
        builder.WriteInt32(StartupCode.CancelRequest);
        builder.WriteInt32(ProcessId);
        builder.WriteBytes(SecretKey);
        builder.Commit();
    }
}
