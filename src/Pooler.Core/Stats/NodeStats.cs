using System.Collections.Concurrent;

namespace Pooler.Core.Stats;

/// <summary>
/// This node's statistics: the counters of every pool and user, and a short history of their
/// totals from which SHOW STATS_AVERAGES is computed (PgBouncer averages over stats_period).
/// </summary>
public sealed class NodeStats
{
    /// <summary>How far back the averages look.</summary>
    public static readonly TimeSpan AveragePeriod = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<(string Pool, string User), PoolCounters> _counters = new();
    private readonly Queue<(DateTime At, Dictionary<(string, string), PoolTotals> Totals)> _history = new();

    public DateTime StartedAt { get; } = DateTime.UtcNow;

    public PoolCounters For(string pool, string user) => _counters.GetOrAdd((pool, user), _ => new PoolCounters());

    public PoolTotals TotalsOf(string pool, string user) =>
        _counters.TryGetValue((pool, user), out var counters) ? counters.Totals() : PoolTotals.Zero;

    /// <summary>Records the current totals (called every second or so).</summary>
    public void Sample(DateTime now)
    {
        var totals = _counters.ToDictionary(c => c.Key, c => c.Value.Totals());
        lock (_history)
        {
            _history.Enqueue((now, totals));
            while (_history.Count > 2 && now - _history.Peek().At > AveragePeriod)
                _history.Dequeue();
        }
    }

    /// <summary>Per-second rates and per-transaction/query durations over the sampled period.</summary>
    public PoolAverages AveragesOf(string pool, string user)
    {
        (DateTime At, PoolTotals Totals) first, last;
        lock (_history)
        {
            if (_history.Count < 2)
                return PoolAverages.Zero;
            var oldest = _history.Peek();
            var newest = _history.Last();
            first = (oldest.At, oldest.Totals.GetValueOrDefault((pool, user)) ?? PoolTotals.Zero);
            last = (newest.At, newest.Totals.GetValueOrDefault((pool, user)) ?? PoolTotals.Zero);
        }
        var seconds = Math.Max(1, (last.At - first.At).TotalSeconds);
        var xacts = last.Totals.XactCount - first.Totals.XactCount;
        var queries = last.Totals.QueryCount - first.Totals.QueryCount;
        return new PoolAverages(
            (long)(xacts / seconds),
            (long)(queries / seconds),
            (long)((last.Totals.BytesReceived - first.Totals.BytesReceived) / seconds),
            (long)((last.Totals.BytesSent - first.Totals.BytesSent) / seconds),
            xacts > 0 ? (last.Totals.XactTimeUs - first.Totals.XactTimeUs) / xacts : 0,
            queries > 0 ? (last.Totals.QueryTimeUs - first.Totals.QueryTimeUs) / queries : 0,
            xacts > 0 ? (last.Totals.WaitTimeUs - first.Totals.WaitTimeUs) / xacts : 0);
    }
}
