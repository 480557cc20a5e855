using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Pooler.Protocol;
using Xunit;

namespace Pooler.IntegrationTests;

/// <summary>
/// No cross-talk (DESIGN.md invariant 1) and the pool_size ceiling (invariant 4) under load:
/// 200 clients share five server connections in transaction mode, some roll back, some vanish
/// in the middle of a transaction, and every answer still belongs to the client that asked.
/// </summary>
public sealed class CrossTalkTests(CrossTalkFixture fixture) : IClassFixture<CrossTalkFixture>
{
    private const int Clients = 200;
    private const int Transactions = 25;
    private const int KillAtTransaction = 10;

    private enum Kind
    {
        /// <summary>Npgsql: extended protocol, literal and parameterised statements.</summary>
        Npgsql,
        /// <summary>A raw client on the simple query protocol, several statements per Query.</summary>
        Simple,
        /// <summary>Simple protocol; killed inside a transaction while its server connection is idle.</summary>
        KilledIdleInTransaction,
        /// <summary>Simple protocol; killed inside a transaction while its query is still running.</summary>
        KilledMidQuery,
    }

    private static Kind KindOf(int id) => (id % 20) switch
    {
        7 => Kind.KilledIdleInTransaction,
        17 => Kind.KilledMidQuery,
        _ when id % 4 == 1 => Kind.Simple,
        _ => Kind.Npgsql,
    };

    private static bool RolledBack(int tx) => tx % 5 == 3;

    private static bool Killed(int id) => KindOf(id) is Kind.KilledIdleInTransaction or Kind.KilledMidQuery;

    private PoolerNode Pooler => fixture.Pooler;

    [Fact]
    public async Task Two_hundred_clients_on_five_server_connections_each_get_only_their_own_answers()
    {
        await using (var setup = await Pooler.OpenAsync())
        await using (var create = new NpgsqlCommand(
            "CREATE TABLE crosstalk (client int NOT NULL, tx int NOT NULL, PRIMARY KEY (client, tx))", setup))
            await create.ExecuteNonQueryAsync();

        var wrong = new ConcurrentQueue<string>();
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var connected = new Task[Clients];
        var runs = new Task[Clients];
        for (var id = 0; id < Clients; id++)
        {
            var loggedIn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            connected[id] = loggedIn.Task;
            var client = id;
            runs[id] = Task.Run(() => RunClientAsync(client, loggedIn, go.Task, wrong));
        }

        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(() => SampleServerConnectionsAsync(sampling.Token));
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(connected);
        var connectedAfter = watch.Elapsed;
        go.SetResult();
        await Task.WhenAll(runs);
        var ranFor = watch.Elapsed;
        sampling.Cancel();
        var (samples, most, overLimit) = await sampler;

        Assert.True(wrong.IsEmpty,
            $"{wrong.Count} problems, the first ones:\n{string.Join('\n', wrong.Take(20))}\n\npooler log tail:\n{LogTail()}");
        Assert.True(samples >= 5, $"pg_stat_activity was sampled only {samples} times in {ranFor}");
        Assert.True(most <= CrossTalkFixture.Size,
            $"pg_stat_activity showed {most} server connections for the pool (pool_size {CrossTalkFixture.Size}) " +
            $"in {samples} samples; what it showed then:\n{overLimit}\npooler log tail:\n{LogTail()}");
        Assert.True(ranFor < TimeSpan.FromSeconds(60), $"the run took {ranFor} (clients connected after {connectedAfter})");

        await AssertNothingLeftIdleInTransactionAsync();
        await AssertTableHoldsExactlyTheCommittedRowsAsync();
        Assert.True(await fixture.ServerConnectionsAsync() <= CrossTalkFixture.Size);
    }

    private async Task RunClientAsync(int id, TaskCompletionSource loggedIn, Task go, ConcurrentQueue<string> wrong)
    {
        try
        {
            switch (KindOf(id))
            {
                case Kind.Npgsql:
                    await RunNpgsqlClientAsync(id, loggedIn, go, wrong);
                    break;
                default:
                    await RunSimpleClientAsync(id, loggedIn, go, wrong);
                    break;
            }
        }
        catch (Exception e)
        {
            wrong.Enqueue($"client {id} ({KindOf(id)}) failed: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            loggedIn.TrySetResult();
        }
    }

    private async Task RunNpgsqlClientAsync(int id, TaskCompletionSource loggedIn, Task go, ConcurrentQueue<string> wrong)
    {
        await using var connection = await Pooler.OpenAsync();
        loggedIn.TrySetResult();
        await go;
        for (var tx = 0; tx < Transactions; tx++)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            int pid;
            await using (var literal = new NpgsqlCommand($"SELECT {id}, pg_backend_pid(), {tx}", connection, transaction))
            await using (var reader = await literal.ExecuteReaderAsync())
            {
                await reader.ReadAsync();
                Check(wrong, id, tx, "literal SELECT", reader.GetInt32(0), reader.GetInt32(2));
                pid = reader.GetInt32(1);
            }
            await using (var parameterised = new NpgsqlCommand(
                "INSERT INTO crosstalk VALUES (@id, @tx); SELECT @id, @tx, pg_backend_pid()", connection, transaction))
            {
                parameterised.Parameters.AddWithValue("id", id);
                parameterised.Parameters.AddWithValue("tx", tx);
                await using var reader = await parameterised.ExecuteReaderAsync();
                await reader.ReadAsync();
                Check(wrong, id, tx, "parameterised SELECT", reader.GetInt32(0), reader.GetInt32(1));
                CheckSameServer(wrong, id, tx, pid, reader.GetInt32(2));
            }
            if (RolledBack(tx))
                await transaction.RollbackAsync();
            else
                await transaction.CommitAsync();
        }
    }

    private async Task RunSimpleClientAsync(int id, TaskCompletionSource loggedIn, Task go, ConcurrentQueue<string> wrong)
    {
        var (client, _) = await WireClient.LoginAsync(Pooler.Host, Pooler.Port, TestUsers.Scram.Name,
            TestUsers.Scram.Password, TestUsers.Database);
        loggedIn.TrySetResult();
        var aborted = false;
        try
        {
            await go;
            for (var tx = 0; tx < Transactions; tx++)
            {
                if (Killed(id) && tx == KillAtTransaction)
                {
                    await KillMidTransactionAsync(client, id, tx, wrong);
                    aborted = true;
                    return;
                }
                var first = await client.QueryAsync($"BEGIN; SELECT {id}, pg_backend_pid(), {tx}");
                if (!Expect(wrong, id, tx, "BEGIN; SELECT", first, TransactionStatus.InTransaction))
                    return;
                Check(wrong, id, tx, "BEGIN; SELECT", int.Parse(first.Text(0, 0)!), int.Parse(first.Text(0, 2)!));
                var pid = int.Parse(first.Text(0, 1)!);

                var second = await client.QueryAsync(
                    $"INSERT INTO crosstalk VALUES ({id}, {tx}); SELECT {id}, {tx}, pg_backend_pid()");
                if (!Expect(wrong, id, tx, "INSERT; SELECT", second, TransactionStatus.InTransaction))
                    return;
                Check(wrong, id, tx, "INSERT; SELECT", int.Parse(second.Text(0, 0)!), int.Parse(second.Text(0, 1)!));
                CheckSameServer(wrong, id, tx, pid, int.Parse(second.Text(0, 2)!));

                var end = await client.QueryAsync(RolledBack(tx) ? "ROLLBACK" : "COMMIT");
                if (!Expect(wrong, id, tx, "COMMIT/ROLLBACK", end, TransactionStatus.Idle))
                    return;
            }
        }
        finally
        {
            if (!aborted)
                await client.DisposeAsync();
        }
    }

    /// <summary>
    /// Opens a transaction with an INSERT in it and vanishes without COMMIT or Terminate: either
    /// once the server is idle in the transaction, or while the client's query is still running
    /// (a NOTICE, which PostgreSQL flushes at once, tells us it has started).
    /// </summary>
    private static async Task KillMidTransactionAsync(WireClient client, int id, int tx, ConcurrentQueue<string> wrong)
    {
        if (KindOf(id) == Kind.KilledIdleInTransaction)
        {
            var answer = await client.QueryAsync(
                $"BEGIN; INSERT INTO crosstalk VALUES ({id}, {tx}); SELECT {id}, {tx}");
            if (Expect(wrong, id, tx, "BEGIN; INSERT before the kill", answer, TransactionStatus.InTransaction))
                Check(wrong, id, tx, "BEGIN; INSERT before the kill", int.Parse(answer.Text(0, 0)!), int.Parse(answer.Text(0, 1)!));
            client.Abort();
            return;
        }

        await client.SendAsync(w => Query.Write(w,
            $"BEGIN; INSERT INTO crosstalk VALUES ({id}, {tx}); " +
            $"DO $$ BEGIN RAISE NOTICE 'client {id} busy'; PERFORM pg_sleep(0.5); END $$"));
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var message = await client.ReadMessageAsync(deadline.Token);
            if (message.Type == BackendMessageType.NoticeResponse)
            {
                var notice = NoticeResponse.Read(message.Payload);
                if (notice.Message != $"client {id} busy")
                    wrong.Enqueue($"client {id} tx {tx}: got someone else's notice '{notice.Message}'");
                break;
            }
            if (message.Type is BackendMessageType.ErrorResponse or BackendMessageType.ReadyForQuery)
            {
                wrong.Enqueue($"client {id} tx {tx}: expected the NOTICE of its running query, got {message}");
                break;
            }
        }
        client.Abort();
    }

    private static bool Expect(ConcurrentQueue<string> wrong, int id, int tx, string what, QueryResult result,
        TransactionStatus status)
    {
        if (result.Error is { } error)
        {
            wrong.Enqueue($"client {id} tx {tx} {what}: error {error.SqlState}: {error.Message}");
            return false;
        }
        if (result.Status != status)
        {
            wrong.Enqueue($"client {id} tx {tx} {what}: ReadyForQuery status {result.Status}, expected {status}");
            return false;
        }
        if (what.Contains("SELECT") && result.Rows.Count != 1)
        {
            wrong.Enqueue($"client {id} tx {tx} {what}: {result.Rows.Count} rows, expected 1");
            return false;
        }
        return true;
    }

    private static void Check(ConcurrentQueue<string> wrong, int id, int tx, string what, int gotId, int gotTx)
    {
        if (gotId != id || gotTx != tx)
            wrong.Enqueue($"client {id} tx {tx} {what}: got the answer for client {gotId} tx {gotTx}");
    }

    /// <summary>In transaction mode a whole transaction runs on one server connection.</summary>
    private static void CheckSameServer(ConcurrentQueue<string> wrong, int id, int tx, int firstPid, int pid)
    {
        if (pid != firstPid)
            wrong.Enqueue($"client {id} tx {tx}: transaction moved from backend {firstPid} to {pid}");
    }

    /// <summary>Counts the pool's server connections in pg_stat_activity again and again until told to stop.</summary>
    private async Task<(int Samples, int Most, string OverLimit)> SampleServerConnectionsAsync(CancellationToken stop)
    {
        var samples = 0;
        var most = 0;
        var overLimit = "";
        while (!stop.IsCancellationRequested)
        {
            var count = await fixture.ServerConnectionsAsync();
            samples++;
            if (count > most)
                most = count;
            if (count > CrossTalkFixture.Size && overLimit.Length == 0)
                overLimit = await fixture.Server.PsqlAsync(
                    "SELECT pid, state, backend_start, left(query, 80) FROM pg_stat_activity " +
                    $"WHERE usename = '{TestUsers.Scram.Name}' AND datname = '{TestUsers.Database}' ORDER BY backend_start");
        }
        return (samples, most, overLimit);
    }

    /// <summary>The killed clients' transactions must not stay open on a server connection.</summary>
    private async Task AssertNothingLeftIdleInTransactionAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        int idleInTransaction;
        while ((idleInTransaction = await fixture.Server.IdleInTransactionAsync()) > 0 && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.True(idleInTransaction == 0,
            $"{idleInTransaction} server connections still idle in transaction:\n" +
            await fixture.Server.PsqlAsync(
                $"SELECT pid, state, left(query, 80) FROM pg_stat_activity WHERE datname = '{TestUsers.Database}'"));
    }

    /// <summary>Committed transactions left their row, rolled back and killed ones left none.</summary>
    private async Task AssertTableHoldsExactlyTheCommittedRowsAsync()
    {
        var rows = new HashSet<(int Client, int Tx)>();
        await using (var connection = await Pooler.OpenAsync())
        await using (var select = new NpgsqlCommand("SELECT client, tx FROM crosstalk", connection))
        await using (var reader = await select.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                rows.Add((reader.GetInt32(0), reader.GetInt32(1)));

        var expected = new HashSet<(int Client, int Tx)>();
        for (var id = 0; id < Clients; id++)
            for (var tx = 0; tx < (Killed(id) ? KillAtTransaction : Transactions); tx++)
                if (!RolledBack(tx))
                    expected.Add((id, tx));

        var missing = expected.Except(rows).Take(10).ToList();
        var extra = rows.Except(expected).Take(10).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"committed rows missing: {string.Join(", ", missing)}; rows that should not be there: {string.Join(", ", extra)}");
    }

    private string LogTail() => string.Join('\n', Pooler.Process.Lines.TakeLast(40));
}
