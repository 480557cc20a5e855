using System.Diagnostics;
using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Pooler.IntegrationTests;

/// <summary>
/// A result far bigger than the pooler should ever hold, read by a slow client: the pooler must
/// pass PostgreSQL's rows on at the client's pace (backpressure) instead of buffering them.
/// </summary>
public sealed class LargeResultTests(TransactionPoolFixture fixture, ITestOutputHelper output)
    : IClassFixture<TransactionPoolFixture>
{
    private const int Rows = 200_000;
    private const int RowWidth = 1_000;
    private const long ResultBytes = (long)Rows * RowWidth; // ~200 MB of row data
    private const long AllowedGrowth = 100L * 1024 * 1024;

    private readonly PoolerNode _pooler = fixture.Pooler;

    [Fact]
    public async Task A_200_MB_result_read_slowly_arrives_whole_while_pooler_memory_stays_bounded()
    {
        await using var connection = await _pooler.OpenAsync();
        // Warm up the path (first query, JIT, buffers) before taking the baseline.
        await using (var warm = new NpgsqlCommand("SELECT repeat('x', 1000) FROM generate_series(1, 1000)", connection))
        await using (var reader = await warm.ExecuteReaderAsync())
            while (await reader.ReadAsync())
            {
            }

        var poolerPid = _pooler.Process.Id;
        var baseline = ProcessMemory.ResidentBytes(poolerPid);
        var peak = baseline;
        using var stopSampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stopSampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, ProcessMemory.ResidentBytes(poolerPid));
                try
                {
                    await Task.Delay(25, stopSampling.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });

        var expected = new string('x', RowWidth);
        var clock = Stopwatch.StartNew();
        var count = 0;
        await using (var command = new NpgsqlCommand(
                         $"SELECT i, repeat('x', {RowWidth}) FROM generate_series(1, {Rows}) AS i", connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                count++;
                Assert.Equal(count, reader.GetInt32(0));
                var text = reader.GetString(1);
                if (text != expected)
                    Assert.Fail($"row {count} came back corrupted ({text.Length} chars)");
                // A slow consumer: 20 ms of "work" every 1,000 rows stretches the read to several
                // seconds, long enough for an unbounded pooler to pull the whole result in.
                if (count % 1_000 == 0)
                    await Task.Delay(20);
            }
        }
        clock.Stop();
        await stopSampling.CancelAsync();
        await sampler;

        var growth = peak - baseline;
        output.WriteLine($"read {count} rows in {clock.Elapsed.TotalSeconds:0.0}s; pooler RSS baseline " +
                         $"{baseline / 1048576} MB, peak {peak / 1048576} MB, growth {growth / 1048576} MB");
        Assert.Equal(Rows, count);
        Assert.True(growth < AllowedGrowth,
            $"pooler RSS grew by {growth / 1048576} MB (baseline {baseline / 1048576} MB, peak {peak / 1048576} MB) " +
            $"while a {ResultBytes / 1048576} MB result was read slowly; it must stay under {AllowedGrowth / 1048576} MB");
        await using var after = new NpgsqlCommand("SELECT 1", connection);
        Assert.Equal(1, (int)(await after.ExecuteScalarAsync())!);
    }
}
