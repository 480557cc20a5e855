using System.Buffers;
using BenchmarkDotNet.Attributes;
using Pooler.Protocol;

namespace Pooler.Benchmarks;

/// <summary>
/// The forwarding path's per-message cost: find each frame in a buffer of a server's answers
/// (RowDescription, DataRow, CommandComplete, ReadyForQuery, repeated) and read the
/// ReadyForQuery status, as transaction pooling does. Expect 0 bytes allocated.
/// </summary>
[MemoryDiagnoser]
public class FrameScannerBenchmarks
{
    private const int Answers = 1000;
    private const int MaxLength = 1 << 20;

    private byte[] _bytes = [];
    private ReadOnlySequence<byte> _singleSegment;
    private ReadOnlySequence<byte> _multiSegment;
    private byte[] _readyForQueryPayload = [];

    [GlobalSetup]
    public void Setup()
    {
        var output = new ArrayBufferWriter<byte>();
        for (int i = 0; i < Answers; i++)
        {
            RowDescription.FromFields(FieldDescription.Int4("n")).WriteTo(output);
            DataRow.WriteText(output, "1");
            CommandComplete.Write(output, "SELECT 1");
            ReadyForQuery.Write(output, TransactionStatus.Idle);
        }

        _bytes = output.WrittenSpan.ToArray();
        _singleSegment = new ReadOnlySequence<byte>(_bytes);
        _multiSegment = BufferSegment.Chunked(_bytes, 4096);
        _readyForQueryPayload = [(byte)'I'];
    }

    [Benchmark(OperationsPerInvoke = Answers * 4)]
    public int ScanSingleSegment() => Scan(_singleSegment);

    [Benchmark(OperationsPerInvoke = Answers * 4)]
    public int ScanMultiSegment() => Scan(_multiSegment);

    [Benchmark(OperationsPerInvoke = Answers * 4)]
    public int ScanSpan()
    {
        int idle = 0;
        ReadOnlySpan<byte> input = _bytes;
        while (FrameScanner.TryReadFrame(input, MaxLength, out FrameHeader header, out ReadOnlySpan<byte> payload) == FrameStatus.Complete)
        {
            if (header.Type == BackendMessageType.ReadyForQuery && ReadyForQuery.ReadStatus(payload) == TransactionStatus.Idle)
            {
                idle++;
            }

            input = input.Slice((int)header.FrameLength);
        }

        return idle;
    }

    [Benchmark]
    public TransactionStatus ReadReadyForQueryStatus() => ReadyForQuery.ReadStatus(_readyForQueryPayload);

    private static int Scan(ReadOnlySequence<byte> input)
    {
        int idle = 0;
        while (FrameScanner.TryReadFrame(input, MaxLength, out Frame frame) == FrameStatus.Complete)
        {
            if (frame.Type == BackendMessageType.ReadyForQuery
                && ReadyForQuery.ReadStatus(frame.Payload) == TransactionStatus.Idle)
            {
                idle++;
            }

            input = input.Slice(frame.End);
        }

        return idle;
    }
}
