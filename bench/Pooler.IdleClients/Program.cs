// pooler-idle-clients: the idle-connection scale test of bench/run (issue 4, item 2).
//
// Opens N client connections to a pooler (Npgsql, Pooling=false: one real TCP connection and one
// full startup + authentication handshake each), at most C handshakes at a time; holds them all
// open and idle; reads the pooler process's memory from /proc; runs `SELECT 1` on a sample of
// them at once; closes them; prints one JSON object on stdout. Progress and errors go to stderr.
//
//   pooler-idle-clients --host 127.0.0.1 --port 6432 --user u --password p --database db
//                       [--clients 10000] [--concurrency 50] [--sample 200] [--hold 5]
//                       [--pid <pooler pid>] [--label name]
//
// Exit code: 0 when every connection opened and every sample query answered, 1 otherwise,
// 2 for a bad command line.

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;

namespace Pooler.IdleClients;

internal sealed record Options(
    string Host, int Port, string User, string Password, string Database,
    int Clients, int Concurrency, int Sample, double HoldSeconds, int? Pid, string Label)
{
    public static Options? Parse(string[] args, out string? error)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                error = $"unexpected argument '{args[i]}'";
                return null;
            }
            values[args[i][2..]] = args[++i];
        }
        string Get(string key, string fallback) => values.Remove(key, out var v) ? v : fallback;
        try
        {
            var o = new Options(
                Get("host", "127.0.0.1"),
                int.Parse(Get("port", "6432"), CultureInfo.InvariantCulture),
                Get("user", "bench"),
                Get("password", ""),
                Get("database", "bench"),
                int.Parse(Get("clients", "10000"), CultureInfo.InvariantCulture),
                int.Parse(Get("concurrency", "50"), CultureInfo.InvariantCulture),
                int.Parse(Get("sample", "200"), CultureInfo.InvariantCulture),
                double.Parse(Get("hold", "5"), CultureInfo.InvariantCulture),
                values.ContainsKey("pid") ? int.Parse(Get("pid", "0"), CultureInfo.InvariantCulture) : null,
                Get("label", "target"));
            if (values.Count > 0)
            {
                error = $"unknown option --{values.Keys.First()}";
                return null;
            }
            if (o.Clients < 1 || o.Concurrency < 1 || o.Sample < 0 || o.HoldSeconds < 0)
            {
                error = "--clients and --concurrency must be positive, --sample and --hold not negative";
                return null;
            }
            error = null;
            return o;
        }
        catch (FormatException e)
        {
            error = e.Message;
            return null;
        }
    }
}

/// <summary>What /proc says about the pooler process at one moment.</summary>
internal readonly record struct ProcSnapshot(long RssKiB, long HwmKiB, long CpuTicks)
{
    public static ProcSnapshot? Read(int? pid)
    {
        if (pid is not int p)
            return null;
        try
        {
            long rss = 0, hwm = 0;
            foreach (var line in File.ReadLines($"/proc/{p}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    rss = ParseKiB(line);
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    hwm = ParseKiB(line);
            }
            // /proc/<pid>/stat: fields after the ")" that ends the command name; utime and stime
            // are the 14th and 15th fields of the line, i.e. the 12th and 13th after ")".
            var stat = File.ReadAllText($"/proc/{p}/stat");
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(rest[11], CultureInfo.InvariantCulture) + long.Parse(rest[12], CultureInfo.InvariantCulture);
            return new ProcSnapshot(rss, hwm, ticks);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static long ParseKiB(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}

internal static class Program
{
    private static readonly ConcurrentDictionary<string, int> Errors = new(StringComparer.Ordinal);

    public static async Task<int> Main(string[] args)
    {
        var o = Options.Parse(args, out var error);
        if (o is null)
        {
            await Console.Error.WriteLineAsync($"pooler-idle-clients: {error}");
            return 2;
        }

        var csb = new NpgsqlConnectionStringBuilder
        {
            Host = o.Host,
            Port = o.Port,
            Username = o.User,
            Password = o.Password,
            Database = o.Database,
            Pooling = false,
            SslMode = SslMode.Disable,
            Timeout = 60,
            CommandTimeout = 60,
            ApplicationName = "pooler-idle-clients",
        };
        var builder = new NpgsqlDataSourceBuilder(csb.ConnectionString);
        // No type-loading query on open: each open is exactly the startup + auth handshake.
        builder.ConfigureTypeLoading(t => t.EnableTypeLoading(false));
        await using var dataSource = builder.Build();

        // Warm-up: JIT this client, let the pooler open its server connection(s) and JIT its
        // handshake path, so the baseline below is the pooler at rest with no client.
        var warm = new List<NpgsqlConnection>();
        for (var i = 0; i < Math.Min(20, o.Clients); i++)
        {
            var c = await TryOpen(dataSource);
            if (c is null)
                continue;
            await TryQuery(c);
            warm.Add(c);
        }
        foreach (var c in warm)
            await c.DisposeAsync();
        Errors.Clear();
        await Task.Delay(1000);
        var before = ProcSnapshot.Read(o.Pid);

        // Open N connections, at most `Concurrency` handshakes in flight.
        var connections = new NpgsqlConnection?[o.Clients];
        var openMs = new double[o.Clients];
        var gate = new SemaphoreSlim(o.Concurrency);
        var opened = 0;
        var total = Stopwatch.StartNew();
        var progress = Stopwatch.StartNew();
        var tasks = new Task[o.Clients];
        for (var i = 0; i < o.Clients; i++)
        {
            var index = i;
            await gate.WaitAsync();
            tasks[i] = Task.Run(async () =>
            {
                try
                {
                    var sw = Stopwatch.StartNew();
                    connections[index] = await TryOpen(dataSource);
                    openMs[index] = sw.Elapsed.TotalMilliseconds;
                    if (connections[index] is not null)
                        Interlocked.Increment(ref opened);
                }
                finally
                {
                    gate.Release();
                }
            });
            if (progress.Elapsed.TotalSeconds >= 5)
            {
                await Console.Error.WriteLineAsync($"  {o.Label}: {Volatile.Read(ref opened)} of {o.Clients} open");
                progress.Restart();
            }
        }
        await Task.WhenAll(tasks);
        var openSeconds = total.Elapsed.TotalSeconds;
        var afterOpen = ProcSnapshot.Read(o.Pid);
        await Console.Error.WriteLineAsync(
            $"  {o.Label}: {opened} of {o.Clients} open in {openSeconds:F1} s; holding them idle for {o.HoldSeconds:F0} s");

        // Hold them idle, then measure the pooler.
        await Task.Delay(TimeSpan.FromSeconds(o.HoldSeconds));
        var idle = ProcSnapshot.Read(o.Pid);
        var stillOpen = connections.Count(c => c is { State: System.Data.ConnectionState.Open });

        // Run a query on a sample spread over all the connections, all at once.
        var sampleMs = new List<double>();
        var sampleFailures = 0;
        var sampleCount = Math.Min(o.Sample, opened);
        if (sampleCount > 0)
        {
            var open = connections.Where(c => c is not null).Select(c => c!).ToArray();
            var sample = Enumerable.Range(0, sampleCount).Select(k => open[(int)((long)k * open.Length / sampleCount)]).ToArray();
            var results = await Task.WhenAll(sample.Select(async c =>
            {
                var sw = Stopwatch.StartNew();
                var ok = await TryQuery(c);
                return (ok, ms: sw.Elapsed.TotalMilliseconds);
            }));
            sampleFailures = results.Count(r => !r.ok);
            sampleMs.AddRange(results.Where(r => r.ok).Select(r => r.ms));
        }
        var afterSample = ProcSnapshot.Read(o.Pid);

        // Close them all (Terminate + FIN), at the same concurrency.
        var closing = Stopwatch.StartNew();
        await Parallel.ForEachAsync(connections.Where(c => c is not null), new ParallelOptions { MaxDegreeOfParallelism = o.Concurrency },
            async (c, _) =>
            {
                try { await c!.DisposeAsync(); }
                catch (Exception e) when (e is NpgsqlException or IOException or ObjectDisposedException) { }
            });
        var closeSeconds = closing.Elapsed.TotalSeconds;

        var openLatencies = openMs.Where((_, i) => connections[i] is not null).OrderBy(x => x).ToArray();
        double Pct(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
        var sortedSample = sampleMs.OrderBy(x => x).ToArray();

        var result = new Dictionary<string, object?>
        {
            ["label"] = o.Label,
            ["clients"] = o.Clients,
            ["concurrency"] = o.Concurrency,
            ["opened"] = opened,
            ["open_failures"] = o.Clients - opened,
            ["still_open_after_hold"] = stillOpen,
            ["open_seconds"] = Math.Round(openSeconds, 3),
            ["setup_rate_per_s"] = Math.Round(opened / openSeconds, 1),
            ["open_ms_avg"] = Math.Round(openLatencies.Length == 0 ? 0 : openLatencies.Average(), 3),
            ["open_ms_p99"] = Math.Round(Pct(openLatencies, 0.99), 3),
            ["close_seconds"] = Math.Round(closeSeconds, 3),
            ["sample"] = sampleCount,
            ["sample_failures"] = sampleFailures,
            ["sample_ms_avg"] = Math.Round(sortedSample.Length == 0 ? 0 : sortedSample.Average(), 3),
            ["sample_ms_max"] = Math.Round(sortedSample.Length == 0 ? 0 : sortedSample[^1], 3),
            ["rss_before_kib"] = before?.RssKiB,
            ["rss_after_open_kib"] = afterOpen?.RssKiB,
            ["rss_idle_kib"] = idle?.RssKiB,
            ["rss_after_sample_kib"] = afterSample?.RssKiB,
            ["hwm_kib"] = afterSample?.HwmKiB,
            // Clock ticks (getconf CLK_TCK per second) the pooler spent while the N connections opened.
            ["cpu_ticks_open"] = before is { } b && afterOpen is { } a ? a.CpuTicks - b.CpuTicks : null,
            ["errors"] = Errors.OrderByDescending(e => e.Value).Take(10).ToDictionary(e => e.Key, e => e.Value),
        };
        Console.WriteLine(JsonSerializer.Serialize(result));
        return opened == o.Clients && sampleFailures == 0 && stillOpen == o.Clients ? 0 : 1;
    }

    private static async Task<NpgsqlConnection?> TryOpen(NpgsqlDataSource dataSource)
    {
        try
        {
            return await dataSource.OpenConnectionAsync();
        }
        catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
        {
            Note(e);
            return null;
        }
    }

    private static async Task<bool> TryQuery(NpgsqlConnection connection)
    {
        try
        {
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            var value = await command.ExecuteScalarAsync();
            if (value is int one && one == 1)
                return true;
            Note(new InvalidOperationException($"SELECT 1 returned {value ?? "null"}"));
            return false;
        }
        catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
        {
            Note(e);
            return false;
        }
    }

    private static void Note(Exception e)
    {
        var message = e.GetType().Name + ": " + e.Message;
        if (Errors.AddOrUpdate(message, 1, (_, n) => n + 1) <= 3)
            Console.Error.WriteLine($"  error: {message}");
    }
}
