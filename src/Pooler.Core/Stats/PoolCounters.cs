using System.Diagnostics;

namespace Pooler.Core.Stats;

/// <summary>
/// Running totals of one pool and user on one node, bumped on the data path with Interlocked (one
/// add per forwarded chunk, a few per ReadyForQuery). Read as a <see cref="PoolTotals"/>.
/// </summary>
public sealed class PoolCounters
{
    /// <summary>Upper bounds (seconds) of the query and transaction duration buckets.</summary>
    public static readonly double[] BucketBoundsSeconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly long[] BucketBoundsTicks =
        BucketBoundsSeconds.Select(s => (long)(s * Stopwatch.Frequency)).ToArray();

    private long _xactCount, _queryCount, _received, _sent, _xactTicks, _queryTicks, _waitTicks;
    private readonly long[] _queryBuckets = new long[BucketBoundsSeconds.Length + 1];
    private readonly long[] _xactBuckets = new long[BucketBoundsSeconds.Length + 1];

    public void AddQuery(long ticks)
    {
        Interlocked.Increment(ref _queryCount);
        Interlocked.Add(ref _queryTicks, ticks);
        Interlocked.Increment(ref _queryBuckets[Bucket(ticks)]);
    }

    public void AddTransaction(long ticks)
    {
        Interlocked.Increment(ref _xactCount);
        Interlocked.Add(ref _xactTicks, ticks);
        Interlocked.Increment(ref _xactBuckets[Bucket(ticks)]);
    }

    public void AddWait(long ticks) => Interlocked.Add(ref _waitTicks, ticks);
    public void AddReceived(long bytes) => Interlocked.Add(ref _received, bytes);
    public void AddSent(long bytes) => Interlocked.Add(ref _sent, bytes);

    public PoolTotals Totals() => new(
        Volatile.Read(ref _xactCount), Volatile.Read(ref _queryCount), Volatile.Read(ref _received), Volatile.Read(ref _sent),
        Micros(Volatile.Read(ref _xactTicks)), Micros(Volatile.Read(ref _queryTicks)), Micros(Volatile.Read(ref _waitTicks)),
        Copy(_queryBuckets), Copy(_xactBuckets));

    private static int Bucket(long ticks)
    {
        var i = 0;
        while (i < BucketBoundsTicks.Length && ticks > BucketBoundsTicks[i])
            i++;
        return i;
    }

    private static long[] Copy(long[] buckets)
    {
        var copy = new long[buckets.Length];
        for (var i = 0; i < buckets.Length; i++)
            copy[i] = Volatile.Read(ref buckets[i]);
        return copy;
    }

    public static long Micros(long ticks) => (long)(ticks * (1_000_000.0 / Stopwatch.Frequency));
}
