using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Pooler.IntegrationTests;

/// <summary>
/// Named prepared statements from real client libraries, many clients on fewer server connections
/// (issue 7): psycopg 3, asyncpg and node-postgres (scripts in tests/clients/, installed by
/// ./pooler.sh test), pgbench -M prepared and Npgsql's automatic and explicit preparation. Every
/// client checks every answer against what it sent; one statement's text differs from client to
/// client under the same name, so a statement prepared by one client answering another shows up as
/// a wrong answer. Each statement also returns pg_backend_pid(): through a transaction-mode pooler
/// the test only counts if some client really ran on several server connections.
/// The same tests run through a session-mode pooler and against PostgreSQL directly (the other
/// classes below), which shows that the scripts themselves are right.
/// </summary>
public abstract partial class PreparedStatementClients(PreparedStatementFixture fixture, ITestOutputHelper output)
{
    private const int Clients = 10;
    private const int TransactionsPerClient = 200;
    private const int PgbenchClients = 50;
    private const int PgbenchTransactionsPerClient = 40;
    private const int NpgsqlClients = 20;
    private const int NpgsqlRounds = 120;
    private const string Python = "/usr/bin/python3";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private const string InstallHint =
        "(the client libraries come from ./pooler.sh test: Debian's python3-psycopg and python3-asyncpg, " +
        "run by /usr/bin/python3, and node-postgres in tests/clients/node_modules via npm ci)";

    private static string ClientsDirectory => Path.Combine(PoolerBinary.RepositoryRoot(), "tests", "clients");

    [Theory]
    [InlineData("psycopg", "")]
    [InlineData("psycopg", "--prepared-max 2 --rollback-every 4")]
    [InlineData("asyncpg", "")]
    [InlineData("asyncpg", "--cache-size 2")]
    [InlineData("node-postgres", "")]
    public async Task A_client_library_gets_every_answer_right_with_named_prepared_statements(string library, string options)
    {
        var (program, script) = library switch
        {
            "psycopg" => (Python, "psycopg_prepared.py"),
            "asyncpg" => (Python, "asyncpg_prepared.py"),
            "node-postgres" => ("node", "node_pg_prepared.js"),
            _ => throw new ArgumentOutOfRangeException(nameof(library)),
        };
        if (library == "node-postgres")
            Assert.True(File.Exists(Path.Combine(ClientsDirectory, "node_modules", "pg", "package.json")),
                $"node-postgres is not installed in {ClientsDirectory}/node_modules {InstallHint}");

        var run = await RunWithinAsync(program,
            [Path.Combine(ClientsDirectory, script), "--host", fixture.Host, "--port", fixture.Port.ToString(),
             "--user", TestUsers.Scram.Name, "--password", TestUsers.Scram.Password, "--database", TestUsers.Database,
             "--clients", Clients.ToString(), "--transactions", TransactionsPerClient.ToString(),
             .. options.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);
        output.WriteLine($"{library} {options} against {fixture.Target}:\n{run.Output}");

        var failure = $"{script} {options} against {fixture.Target} exited with {run.ExitCode}:\n{run.Output}\n" +
                      $"{InstallHint}\n{PoolerLogTail()}";
        Assert.True(run.ExitCode == 0, failure);
        var summary = Summary(run.StdOut, failure);
        Assert.True(summary["errors"] == 0, failure);
        Assert.True(summary["transactions"] == Clients * TransactionsPerClient, failure);
        AssertServerConnections(summary["min_pids_per_client"], summary["max_pids_per_client"], summary["backend_pids"],
            Clients, failure);
    }

    [Fact]
    public async Task Pgbench_in_prepared_mode_runs_fifty_clients_without_a_failed_transaction()
    {
        var pgbench = "/usr/lib/postgresql/15/bin/pgbench";
        var environment = new Dictionary<string, string>
            { ["PGPASSWORD"] = TestUsers.Scram.Password, ["PGCONNECT_TIMEOUT"] = "10" };
        // Initialised on PostgreSQL itself: only the run goes through the pooler.
        var init = await ProcessRunner.RunAsync(pgbench,
            ["-i", "-s", "1", "-q", "-h", fixture.Server.Host, "-p", fixture.Server.Port.ToString(),
             "-U", TestUsers.Scram.Name, TestUsers.Database],
            environment, timeout: TimeSpan.FromMinutes(1));
        Assert.True(init.ExitCode == 0, $"pgbench -i exited with {init.ExitCode}:\n{init.Output}");

        // One thread per client (-j 50): pgbench prepares a statement with PQprepare, which blocks
        // its thread until the answer comes. With several clients per thread, a client waiting there
        // for a server connection would stall the others of its thread, which hold the pool's
        // connections (inside a transaction in transaction mode, for their whole session in session
        // mode, as pgbench disconnects a thread's clients only when all of them are done), and no
        // pooler could ever answer it: pgbench itself would deadlock.
        string[] arguments =
        [
            "-n", "-M", "prepared", "-c", PgbenchClients.ToString(), "-j", PgbenchClients.ToString(),
            "-t", PgbenchTransactionsPerClient.ToString(),
            "-h", fixture.PgbenchHost, "-p", fixture.PgbenchPort.ToString(), "-U", TestUsers.Scram.Name, TestUsers.Database,
        ];
        var run = await RunWithinAsync(pgbench, arguments, environment, pgbench: true);
        output.WriteLine($"pgbench {string.Join(' ', arguments)} against {fixture.Target}:\n{run.Output}");

        var failure = $"pgbench -M prepared against {fixture.Target} exited with {run.ExitCode}:\n{run.Output}\n" +
                      PoolerLogTail(pgbench: true);
        Assert.True(run.ExitCode == 0, failure);
        Assert.Contains("query mode: prepared", run.StdOut);
        var total = PgbenchClients * PgbenchTransactionsPerClient;
        Assert.True(Regex.IsMatch(run.StdOut, $@"^number of transactions actually processed: {total}/{total}\s*$", RegexOptions.Multiline), failure);
        Assert.True(Regex.IsMatch(run.StdOut, @"^number of failed transactions: 0 \(", RegexOptions.Multiline), failure);
        if (fixture.PoolMode is not null)
        {
            var servers = int.Parse(await fixture.Server.PsqlAsync(
                $"SELECT count(*) FROM pg_stat_activity WHERE usename = '{TestUsers.Scram.Name}' AND datname = '{TestUsers.Database}'"));
            Assert.True(servers <= fixture.PoolSize + fixture.PgbenchPoolSize,
                $"PostgreSQL has {servers} server connections for the two pools (pool_size {fixture.PoolSize} and {fixture.PgbenchPoolSize})");
        }
    }

    [Fact]
    public async Task Npgsql_auto_prepared_and_explicitly_prepared_commands_get_every_answer_right()
    {
        await using (var setup = new NpgsqlConnection(TestUsers.ConnectionString(fixture.Host, fixture.Port)))
        {
            await setup.OpenAsync();
            await using var create = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS npgsql_probe (run text, client int, n int)", setup);
            await create.ExecuteNonQueryAsync();
        }

        var run = Guid.NewGuid().ToString("N");
        var errors = new ConcurrentQueue<string>();
        var all = Task.WhenAll(Enumerable.Range(0, NpgsqlClients).Select(c => NpgsqlClientAsync(c, run, errors)));
        if (await Task.WhenAny(all, Task.Delay(Deadline)) != all)
            Assert.Fail($"the Npgsql clients did not finish within {Deadline.TotalSeconds:0} s; {errors.Count} errors so far:\n" +
                        $"{string.Join('\n', errors.Take(30))}\n{PoolerLogTail()}");
        var clients = await all;

        var failure = $"Npgsql against {fixture.Target}: {errors.Count} errors, {clients.Sum(c => c.Done)} of " +
                      $"{NpgsqlClients * NpgsqlRounds} rounds done:\n{string.Join('\n', errors.Take(30))}\n{PoolerLogTail()}";
        output.WriteLine($"Npgsql against {fixture.Target}: {NpgsqlClients} clients, {clients.Sum(c => c.Done)} rounds, " +
                         $"{errors.Count} errors, {clients.SelectMany(c => c.Pids).Distinct().Count()} backend pids, " +
                         $"{clients.Min(c => c.Pids.Count)}..{clients.Max(c => c.Pids.Count)} per client");
        Assert.True(errors.IsEmpty, failure);
        Assert.True(clients.All(c => c.Done == NpgsqlRounds), failure);
        AssertServerConnections(clients.Min(c => c.Pids.Count), clients.Max(c => c.Pids.Count),
            clients.SelectMany(c => c.Pids).Distinct().Count(), NpgsqlClients, failure);
    }

    /// <summary>
    /// One Npgsql client: Max Auto Prepare=10 with Auto Prepare Min Usages=2 prepares a text the
    /// second time it runs (as _autoN), and with twelve texts in use it keeps evicting some: Close of
    /// _autoN and Parse of another text under the same _autoN, in one batch. One more command is
    /// prepared explicitly with Prepare() (_p1: Parse, Describe, Sync on their own) and run with new
    /// values every time.
    /// </summary>
    private async Task<(HashSet<int> Pids, int Done)> NpgsqlClientAsync(int c, string run, ConcurrentQueue<string> errors)
    {
        var pids = new HashSet<int>();
        var done = 0;
        var clientErrors = 0;
        var inserted = 0L;
        var insertedSum = 0L;
        void Fail(string what)
        {
            clientErrors++;
            errors.Enqueue($"client {c}: {what}");
        }
        void Check<T>(string what, T got, T expected)
        {
            if (!EqualityComparer<T>.Default.Equals(got, expected))
                Fail($"{what}: expected {expected}, got {got}");
        }

        NpgsqlConnection connection;
        try
        {
            connection = new NpgsqlConnection(TestUsers.ConnectionString(fixture.Host, fixture.Port,
                extra: "Max Auto Prepare=10;Auto Prepare Min Usages=2"));
            await connection.OpenAsync();
        }
        catch (Exception e)
        {
            Fail($"open: {e.GetType().Name}: {e.Message}");
            return (pids, done);
        }

        await using (connection)
        {
            async Task<object[]> RowAsync(string sql, NpgsqlTransaction? transaction, params object[] values)
            {
                await using var command = new NpgsqlCommand(sql, connection, transaction);
                foreach (var value in values)
                    command.Parameters.Add(new NpgsqlParameter { Value = value });
                return await ReadRowAsync(command);
            }
            async Task<object[]> ReadRowAsync(NpgsqlCommand command)
            {
                await using var reader = await command.ExecuteReaderAsync();
                if (!await reader.ReadAsync())
                    throw new InvalidOperationException($"no row from {command.CommandText}");
                var row = new object[reader.FieldCount];
                reader.GetValues(row);
                pids.Add((int)row[^1]);
                return row;
            }

            var number = new NpgsqlParameter<int> { TypedValue = 0 };
            var label = new NpgsqlParameter<string> { TypedValue = "" };
            var doubled = new NpgsqlCommand("SELECT $1::int * 2, $2::text, pg_backend_pid()", connection)
                { Parameters = { number, label } };
            try
            {
                await doubled.PrepareAsync();
            }
            catch (Exception e)
            {
                Fail($"Prepare(): {e.GetType().Name}: {e.Message}");
                await doubled.DisposeAsync();
                return (pids, done);
            }

            await using (doubled)
                for (var r = 0; r < NpgsqlRounds && clientErrors < 5 && connection.State == System.Data.ConnectionState.Open; r++)
                {
                    try
                    {
                        switch (r % 6)
                        {
                            case 0:
                                // Auto-prepared under Npgsql's own names (_auto0, _auto1 ...), with a text of its own on each client.
                                Check("add", (int)(await RowAsync($"SELECT $1::int + {c}, pg_backend_pid()", null, r))[0], r + c);
                                break;
                            case 1:
                                Check("concat", (string)(await RowAsync("SELECT $1::text || '/' || $2::text, pg_backend_pid()", null, $"c{c}", $"r{r}"))[0], $"c{c}/r{r}");
                                break;
                            case 2:
                                Check("insert", (int)(await RowAsync("INSERT INTO npgsql_probe (run, client, n) VALUES ($1, $2, $3) RETURNING n, pg_backend_pid()", null, run, c, r))[0], r);
                                inserted++;
                                insertedSum += r;
                                break;
                            case 3:
                                var counted = await RowAsync("SELECT count(*), coalesce(sum(n), 0), pg_backend_pid() FROM npgsql_probe WHERE run = $1 AND client = $2 AND n >= 0", null, run, c);
                                Check("count", (long)counted[0], inserted);
                                Check("sum", (long)counted[1], insertedSum);
                                break;
                            case 4:
                                // The explicitly prepared command, with new values every time.
                                number.TypedValue = r;
                                label.TypedValue = $"c{c}r{r}";
                                var row = await ReadRowAsync(doubled);
                                Check("prepared doubled", (int)row[0], 2 * r);
                                Check("prepared label", (string)row[1], $"c{c}r{r}");
                                break;
                            default:
                                // A transaction block, the explicitly prepared command inside it too.
                                var blockPids = new HashSet<int>();
                                await using (var transaction = await connection.BeginTransactionAsync())
                                {
                                    var inBlock = await RowAsync("INSERT INTO npgsql_probe (run, client, n) VALUES ($1, $2, $3) RETURNING n, pg_backend_pid()", transaction, run, c, -r);
                                    Check("insert in block", (int)inBlock[0], -r);
                                    blockPids.Add((int)inBlock[^1]);
                                    number.TypedValue = -r;
                                    label.TypedValue = "in block";
                                    doubled.Transaction = transaction;
                                    var prepared = await ReadRowAsync(doubled);
                                    doubled.Transaction = null;
                                    Check("prepared in block", (int)prepared[0], -2 * r);
                                    blockPids.Add((int)prepared[^1]);
                                    var seen = await RowAsync("SELECT count(*), pg_backend_pid() FROM npgsql_probe WHERE run = $1 AND client = $2 AND n = $3", transaction, run, c, -r);
                                    Check("own insert seen in block", (long)seen[0], 1L);
                                    blockPids.Add((int)seen[^1]);
                                    await transaction.CommitAsync();
                                }
                                if (blockPids.Count != 1)
                                    Fail($"transaction block {r} ran on several server connections: {string.Join(", ", blockPids)}");
                                var kept = await RowAsync("SELECT count(*), pg_backend_pid() FROM npgsql_probe WHERE run = $1 AND client = $2 AND n = $3", null, run, c, -r);
                                Check("block kept", (long)kept[0], 1L);
                                break;
                        }
                        // One of seven more texts every round: with the five above that is more
                        // than Max Auto Prepare, so Npgsql keeps closing statements to make room.
                        var k = 100 + r % 7;
                        Check($"extra {k}", (int)(await RowAsync($"SELECT $1::int + {k}, pg_backend_pid()", null, r))[0], r + k);
                        done++;
                    }
                    catch (Exception e) when (e is NpgsqlException or InvalidOperationException or InvalidCastException)
                    {
                        Fail($"round {r}: {e.GetType().Name}: {e.Message}");
                    }
                }
        }
        return (pids, done);
    }

    /// <summary>
    /// How the clients spread over server connections. Through a transaction-mode pooler some client
    /// must have run on several of them (or the test exercised nothing) and none beyond the pool;
    /// in session mode and on PostgreSQL directly each client keeps one.
    /// </summary>
    private void AssertServerConnections(int minPerClient, int maxPerClient, int distinct, int clients, string failure)
    {
        switch (fixture.PoolMode)
        {
            case "transaction":
                Assert.True(maxPerClient > 1,
                    $"no client ran on more than one server connection ({distinct} in all): the test did not exercise re-preparing\n{failure}");
                Assert.True(distinct <= fixture.PoolSize, $"the clients saw {distinct} server connections, pool_size is {fixture.PoolSize}\n{failure}");
                break;
            case "session":
                Assert.True(minPerClient == 1 && maxPerClient == 1,
                    $"in session mode each client keeps one server connection, saw {minPerClient}..{maxPerClient}\n{failure}");
                Assert.True(distinct <= fixture.PoolSize, $"the clients saw {distinct} server connections, pool_size is {fixture.PoolSize}\n{failure}");
                break;
            default:
                Assert.True(minPerClient == 1 && maxPerClient == 1 && distinct == clients,
                    $"on PostgreSQL directly each client has its own backend: {distinct} backends, {minPerClient}..{maxPerClient} per client\n{failure}");
                break;
        }
    }

    /// <summary>
    /// Runs a client program, failing the test with the pooler's log if it has not finished by
    /// <see cref="Deadline"/> (each run takes a few seconds; a hang should not cost minutes).
    /// </summary>
    private async Task<ProcessResult> RunWithinAsync(string program, string[] arguments,
        IDictionary<string, string>? environment = null, bool pgbench = false)
    {
        try
        {
            return await ProcessRunner.RunAsync(program, arguments, environment, timeout: Deadline);
        }
        catch (TimeoutException e)
        {
            Assert.Fail($"{e.Message} (deadline {Deadline.TotalSeconds:0} s) against {fixture.Target}\n{PoolerLogTail(pgbench)}");
            throw;
        }
    }

    /// <summary>The key=value pairs of a script's "summary:" line.</summary>
    private static Dictionary<string, int> Summary(string stdout, string failure)
    {
        var line = stdout.Split('\n').LastOrDefault(l => l.StartsWith("summary:", StringComparison.Ordinal));
        Assert.True(line is not null, $"no summary line\n{failure}");
        var values = SummaryValue().Matches(line).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        var numbers = new Dictionary<string, int>();
        foreach (var key in new[] { "clients", "transactions", "errors", "backend_pids", "min_pids_per_client", "max_pids_per_client" })
        {
            var number = values.TryGetValue(key, out var text) && int.TryParse(text, out var parsed) ? parsed : (int?)null;
            Assert.True(number is not null, $"summary has no {key}: {line}\n{failure}");
            numbers[key] = number.Value;
        }
        return numbers;
    }

    private string PoolerLogTail(bool pgbench = false)
    {
        const int lines = 200;
        var log = fixture.PoolerLog(pgbench).Split('\n');
        return log.Length <= lines
            ? $"pooler log:\n{string.Join('\n', log)}"
            : $"pooler log (last {lines} of {log.Length} lines):\n{string.Join('\n', log[^lines..])}";
    }

    [GeneratedRegex(@"(\w+)=(\S+)")]
    private static partial Regex SummaryValue();
}

/// <summary>Through a pooler in transaction mode, pool_size 3 (pgbench: 5): issue 7.</summary>
public sealed class PreparedStatementClientTests(TransactionPreparedStatementFixture fixture, ITestOutputHelper output)
    : PreparedStatementClients(fixture, output), IClassFixture<TransactionPreparedStatementFixture>;

/// <summary>Through a pooler in session mode, pool_size 3 (pgbench: 5): each client keeps its server connection, and the next client gets it reset.</summary>
public sealed class SessionModePreparedStatementClientTests(SessionPreparedStatementFixture fixture, ITestOutputHelper output)
    : PreparedStatementClients(fixture, output), IClassFixture<SessionPreparedStatementFixture>;

/// <summary>Against PostgreSQL directly: proves the client scripts and checks themselves right.</summary>
public sealed class DirectPreparedStatementClientTests(DirectPreparedStatementFixture fixture, ITestOutputHelper output)
    : PreparedStatementClients(fixture, output), IClassFixture<DirectPreparedStatementFixture>;
