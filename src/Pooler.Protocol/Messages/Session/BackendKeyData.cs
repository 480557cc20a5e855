using System.Buffers;
using System.Buffers.Binary;

namespace Pooler.Protocol;

/// <summary>
/// 'K': the process id and secret key a client must quote in a CancelRequest. The key is 4 bytes
/// in protocol 3.0 and 4 to 256 bytes in 3.2 (it runs to the end of the message).
/// </summary>
public sealed record BackendKeyData(int ProcessId, byte[] SecretKey)
{
    /// <summary>A protocol 3.0 key.</summary>
    public BackendKeyData(int processId, int secretKey)
        : this(processId, KeyBytes(secretKey))
    {
    }

    /// <summary>The key as an Int32 when it is the 4-byte protocol 3.0 kind, else null.</summary>
    public int? SecretKeyInt32 => SecretKey.Length == 4 ? BinaryPrimitives.ReadInt32BigEndian(SecretKey) : null;

    public static BackendKeyData Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(BackendKeyData));
        int processId = reader.ReadInt32("process id");
        ReadOnlySpan<byte> key = reader.ReadRemaining();
        if (key.Length is < CancelRequest.MinSecretKeyLength or > CancelRequest.MaxSecretKeyLength)
        {
            throw reader.Violation(
                $"secret key of {key.Length} bytes is outside {CancelRequest.MinSecretKeyLength}..{CancelRequest.MaxSecretKeyLength}");
        }

        return new BackendKeyData(processId, key.ToArray());
    }

    public void WriteTo(IBufferWriter<byte> output)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(SecretKey.Length, CancelRequest.MinSecretKeyLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(SecretKey.Length, CancelRequest.MaxSecretKeyLength);
        var builder = MessageBuilder.Start(output, BackendMessageType.BackendKeyData, 4 + SecretKey.Length);
        builder.WriteInt32(ProcessId);
        builder.WriteBytes(SecretKey);
        builder.Commit();
    }

    internal static byte[] KeyBytes(int secretKey)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, secretKey);
        return bytes;
    }
}
