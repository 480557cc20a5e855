using Pooler.Core.Stats;
using Pooler.Protocol;

namespace Pooler.Core.Admin;

// SHOW POOLS (one row per pool and user) and SHOW STATS* (one row per database).
internal static partial class AdminTables
{
    private static readonly FieldDescription[] PoolColumns =
    [
        Text("database"), Text("user"), Int4("cl_active"), Int4("cl_waiting"),
        Int4("cl_active_cancel_req"), Int4("cl_waiting_cancel_req"), Int4("sv_active"), Int4("sv_active_cancel"),
        Int4("sv_being_canceled"), Int4("sv_idle"), Int4("sv_used"), Int4("sv_tested"), Int4("sv_login"),
        Int4("maxwait"), Int4("maxwait_us"), Text("pool_mode"),
    ];

    private static readonly FieldDescription[] StatsColumns =
    [
        Text("database"), Numeric("total_xact_count"), Numeric("total_query_count"), Numeric("total_received"),
        Numeric("total_sent"), Numeric("total_xact_time"), Numeric("total_query_time"), Numeric("total_wait_time"),
        Numeric("avg_xact_count"), Numeric("avg_query_count"), Numeric("avg_recv"), Numeric("avg_sent"),
        Numeric("avg_xact_time"), Numeric("avg_query_time"), Numeric("avg_wait_time"),
    ];

    private static readonly FieldDescription[] TotalsColumns =
    [
        Text("database"), Numeric("xact_count"), Numeric("query_count"), Numeric("bytes_received"),
        Numeric("bytes_sent"), Numeric("xact_time"), Numeric("query_time"), Numeric("wait_time"),
    ];

    private static readonly FieldDescription[] AveragesColumns = TotalsColumns;

    private static List<object?[]> Pools(NodeSnapshot node)
    {
        var rows = new List<object?[]>(node.Pools.Count);
        foreach (var p in node.Pools)
        {
            // Pooler does not track cancel requests per pool or test servers on lending: those stay 0.
            rows.Add([
                p.Database, p.User, p.ClientsActive, p.ClientsWaiting,
                0, 0, p.ServersActive, 0,
                0, p.ServersIdle, p.ServersUsed, 0, p.ServersLogin,
                WholeSeconds(p.MaxWaitUs), MicrosecondsLeft(p.MaxWaitUs), p.PoolMode,
            ]);
        }
        return rows;
    }

    private static List<object?[]> Stats(NodeSnapshot node)
    {
        var rows = new List<object?[]>();
        foreach (var (database, pools) in ByDatabase(node))
        {
            var t = SumTotals(pools);
            var a = CombineAverages(pools);
            rows.Add([
                database, t.XactCount, t.QueryCount, t.BytesReceived, t.BytesSent, t.XactTimeUs, t.QueryTimeUs, t.WaitTimeUs,
                a.XactCount, a.QueryCount, a.BytesReceived, a.BytesSent, a.XactTimeUs, a.QueryTimeUs, a.WaitTimeUs,
            ]);
        }
        return rows;
    }

    private static List<object?[]> StatsTotals(NodeSnapshot node)
    {
        var rows = new List<object?[]>();
        foreach (var (database, pools) in ByDatabase(node))
        {
            var t = SumTotals(pools);
            rows.Add([database, t.XactCount, t.QueryCount, t.BytesReceived, t.BytesSent, t.XactTimeUs, t.QueryTimeUs, t.WaitTimeUs]);
        }
        return rows;
    }

    private static List<object?[]> StatsAverages(NodeSnapshot node)
    {
        var rows = new List<object?[]>();
        foreach (var (database, pools) in ByDatabase(node))
        {
            var a = CombineAverages(pools);
            rows.Add([database, a.XactCount, a.QueryCount, a.BytesReceived, a.BytesSent, a.XactTimeUs, a.QueryTimeUs, a.WaitTimeUs]);
        }
        return rows;
    }

    /// <summary>The node's pools grouped by database, in the order the databases first appear.</summary>
    private static List<(string Database, List<PoolSnapshot> Pools)> ByDatabase(NodeSnapshot node)
    {
        var groups = new List<(string, List<PoolSnapshot>)>();
        var byName = new Dictionary<string, List<PoolSnapshot>>(StringComparer.Ordinal);
        foreach (var pool in node.Pools)
        {
            if (!byName.TryGetValue(pool.Database, out var list))
            {
                byName[pool.Database] = list = [];
                groups.Add((pool.Database, list));
            }
            list.Add(pool);
        }
        return groups;
    }

    private static PoolTotals SumTotals(List<PoolSnapshot> pools)
    {
        long xacts = 0, queries = 0, received = 0, sent = 0, xactTime = 0, queryTime = 0, waitTime = 0;
        foreach (var pool in pools)
        {
            var t = pool.Totals;
            xacts += t.XactCount;
            queries += t.QueryCount;
            received += t.BytesReceived;
            sent += t.BytesSent;
            xactTime += t.XactTimeUs;
            queryTime += t.QueryTimeUs;
            waitTime += t.WaitTimeUs;
        }
        return new PoolTotals(xacts, queries, received, sent, xactTime, queryTime, waitTime, [], []);
    }

    /// <summary>
    /// A database's averages from its users': rates per second add up; an average duration is
    /// weighted by how many transactions (queries) per second each user ran, so an idle user's
    /// stale figure does not drag a busy one's.
    /// </summary>
    private static PoolAverages CombineAverages(List<PoolSnapshot> pools)
    {
        long xacts = 0, queries = 0, received = 0, sent = 0;
        foreach (var pool in pools)
        {
            var a = pool.Averages;
            xacts += a.XactCount;
            queries += a.QueryCount;
            received += a.BytesReceived;
            sent += a.BytesSent;
        }
        return new PoolAverages(xacts, queries, received, sent,
            WeightedMean(pools, a => a.XactTimeUs, a => a.XactCount),
            WeightedMean(pools, a => a.QueryTimeUs, a => a.QueryCount),
            // The average wait is per transaction (PoolAverages), so transactions weigh it.
            WeightedMean(pools, a => a.WaitTimeUs, a => a.XactCount));
    }

    /// <summary>The mean of <paramref name="value"/> weighted by <paramref name="weight"/>; the plain mean when every weight is 0.</summary>
    private static long WeightedMean(List<PoolSnapshot> pools, Func<PoolAverages, long> value, Func<PoolAverages, long> weight)
    {
        if (pools.Count == 0)
            return 0;
        Int128 weighted = 0, plain = 0;
        long weights = 0;
        foreach (var pool in pools)
        {
            weighted += (Int128)value(pool.Averages) * weight(pool.Averages);
            plain += value(pool.Averages);
            weights += weight(pool.Averages);
        }
        return weights > 0 ? (long)(weighted / weights) : (long)(plain / pools.Count);
    }
}
