using System.Globalization;
using System.Text;
using Pooler.Core.Stats;

namespace Pooler.Host.Http;

/// <summary>
/// Writes Prometheus histograms from buckets counted elsewhere (<see cref="PoolCounters"/>), which
/// prometheus-net cannot take: its histograms only observe one value at a time. The data path counts
/// each duration once, in the first bucket whose bound it does not exceed; the text format wants
/// cumulative buckets (<c>le</c> = "at most"), ending with <c>+Inf</c>, whose count is <c>_count</c>.
/// </summary>
internal static class HistogramText
{
    private static readonly string[] Bounds =
        [.. PoolCounters.BucketBoundsSeconds.Select(b => b.ToString("R", CultureInfo.InvariantCulture)), "+Inf"];

    /// <summary>One histogram family: a series per pool and user of <paramref name="pools"/>.</summary>
    /// <param name="buckets">the pool's count per bucket of <see cref="PoolCounters.BucketBoundsSeconds"/>, the last one above every bound</param>
    /// <param name="sumMicros">the pool's total of all durations, in µs</param>
    public static void Write(StringBuilder text, string name, string help, string node, IReadOnlyList<PoolSnapshot> pools,
        Func<PoolSnapshot, long[]> buckets, Func<PoolSnapshot, long> sumMicros)
    {
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        text.Append("# TYPE ").Append(name).Append(" histogram\n");
        foreach (var pool in pools)
        {
            var labels = $"node=\"{Escape(node)}\",pool=\"{Escape(pool.Database)}\",user=\"{Escape(pool.User)}\"";
            var counts = buckets(pool);
            long cumulative = 0;
            for (var i = 0; i < Bounds.Length; i++)
            {
                cumulative += counts[i];
                text.Append(name).Append("_bucket{").Append(labels).Append(",le=\"").Append(Bounds[i]).Append("\"} ")
                    .Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
            text.Append(name).Append("_sum{").Append(labels).Append("} ")
                .Append((sumMicros(pool) / 1e6).ToString("R", CultureInfo.InvariantCulture)).Append('\n');
            text.Append(name).Append("_count{").Append(labels).Append("} ")
                .Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    /// <summary>A label value as the text format quotes it: backslash, double quote and newline escaped.</summary>
    internal static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal);
}
