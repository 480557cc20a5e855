using System.Buffers;

namespace Pooler.Protocol;

/// <summary>
/// 'Z': the server is ready for the next query; its status byte tells whether a transaction is
/// open. This is the message transaction pooling turns on, so its reads are allocation-free.
/// </summary>
public readonly record struct ReadyForQuery(TransactionStatus Status)
{
    public const int PayloadLength = 1;

    /// <summary>The status from a ReadyForQuery payload.</summary>
    public static TransactionStatus ReadStatus(ReadOnlySpan<byte> payload)
    {
        if (payload.Length != PayloadLength)
        {
            throw new ProtocolViolationException(
                $"invalid ReadyForQuery message: payload is {payload.Length} bytes, expected {PayloadLength}");
        }

        return ToStatus(payload[0]);
    }

    /// <summary>The status from a ReadyForQuery payload that may sit in any segment.</summary>
    public static TransactionStatus ReadStatus(in ReadOnlySequence<byte> payload)
    {
        if (payload.Length != PayloadLength)
        {
            throw new ProtocolViolationException(
                $"invalid ReadyForQuery message: payload is {payload.Length} bytes, expected {PayloadLength}");
        }

        // A one-byte slice can still start with an empty segment; FirstSpan may then be empty.
        ReadOnlySpan<byte> first = payload.FirstSpan;
        if (!first.IsEmpty)
        {
            return ToStatus(first[0]);
        }

        Span<byte> scratch = stackalloc byte[PayloadLength];
        payload.CopyTo(scratch);
        return ToStatus(scratch[0]);
    }

    public static ReadyForQuery Read(ReadOnlySpan<byte> payload) => new(ReadStatus(payload));

    public static void Write(IBufferWriter<byte> output, TransactionStatus status)
    {
        var builder = MessageBuilder.Start(output, BackendMessageType.ReadyForQuery, PayloadLength);
        builder.WriteByte((byte)status);
        builder.Commit();
    }

    public void WriteTo(IBufferWriter<byte> output) => Write(output, Status);

    private static TransactionStatus ToStatus(byte value) => value switch
    {
        (byte)TransactionStatus.Idle => TransactionStatus.Idle,
        (byte)TransactionStatus.InTransaction => TransactionStatus.InTransaction,
        (byte)TransactionStatus.Failed => TransactionStatus.Failed,
        _ => throw new ProtocolViolationException(
            $"invalid ReadyForQuery message: unknown transaction status {FrameScanner.TypeName(value)}"),
    };
}
