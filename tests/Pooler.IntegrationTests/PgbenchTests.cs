using System.Text.RegularExpressions;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Pooler.IntegrationTests;

/// <summary>
/// pgbench through a pooler in transaction mode with pool_size 5: initialise, then run ten clients
/// in both query protocols, with no failed transaction and never more than five server connections.
/// </summary>
public sealed partial class PgbenchTests(TransactionPoolOfFiveFixture fixture, ITestOutputHelper output)
    : IClassFixture<TransactionPoolOfFiveFixture>
{
    private const int Clients = 10;
    private const int TransactionsPerClient = 200;
    private const int PoolSize = 5;
    private readonly PoolerNode _pooler = fixture.Pooler;

    [Theory]
    [InlineData("simple")]
    [InlineData("extended")]
    public async Task Pgbench_runs_without_failures_and_within_the_pool_size(string protocol)
    {
        var init = await PgbenchAsync("-i", "-s", "1");
        Assert.True(init.ExitCode == 0, $"pgbench -i exited with {init.ExitCode}:\n{init.Output}\npooler log:\n{_pooler.Process.Output}");
        Assert.Contains("done in", init.StdErr);

        await using var activity = await ServerActivity.OpenAsync(fixture.Server);
        var peak = 0L;
        using var stopWatching = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!stopWatching.IsCancellationRequested)
            {
                peak = Math.Max(peak, await activity.ConnectionsAsync(TestUsers.Scram.Name));
                try
                {
                    await Task.Delay(20, stopWatching.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });

        var run = await PgbenchAsync("-c", Clients.ToString(), "-j", "2", "-t", TransactionsPerClient.ToString(),
            "-M", protocol);
        await stopWatching.CancelAsync();
        await watcher;
        output.WriteLine(run.Output);

        Assert.True(run.ExitCode == 0, $"pgbench exited with {run.ExitCode}:\n{run.Output}\npooler log:\n{_pooler.Process.Output}");
        Assert.Equal($"{Clients * TransactionsPerClient}/{Clients * TransactionsPerClient}",
            Match(ProcessedLine(), run.StdOut, "number of transactions actually processed"));
        Assert.Equal("0", Match(FailedLine(), run.StdOut, "number of failed transactions"));
        Assert.Contains($"query mode: {protocol}", run.StdOut);
        Assert.True(peak is > 0 and <= PoolSize, $"PostgreSQL saw {peak} server connections for the pool (pool_size {PoolSize})");
    }

    private Task<ProcessResult> PgbenchAsync(params string[] arguments) =>
        ProcessRunner.RunAsync("/usr/lib/postgresql/15/bin/pgbench",
            ["-h", _pooler.Host, "-p", _pooler.Port.ToString(), "-U", TestUsers.Scram.Name, .. arguments, TestUsers.Database],
            environment: new Dictionary<string, string> { ["PGPASSWORD"] = TestUsers.Scram.Password, ["PGCONNECT_TIMEOUT"] = "10" },
            timeout: TimeSpan.FromMinutes(3));

    private static string Match(Regex pattern, string text, string what)
    {
        var match = pattern.Match(text);
        Assert.True(match.Success, $"pgbench's output has no '{what}' line:\n{text}");
        return match.Groups[1].Value;
    }

    [GeneratedRegex(@"^number of transactions actually processed: (\d+/\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex ProcessedLine();

    [GeneratedRegex(@"^number of failed transactions: (\d+) \(", RegexOptions.Multiline)]
    private static partial Regex FailedLine();
}
