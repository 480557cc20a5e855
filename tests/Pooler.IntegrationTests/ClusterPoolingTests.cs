using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Pooler.Protocol;
using Xunit;
using Xunit.Abstractions;

namespace Pooler.IntegrationTests;

/// <summary>
/// Issue 5 end to end: three pooler processes form a cluster; the pool lives on one of them and
/// clients of every node are relayed there. One budget for the whole cluster, one backend when
/// pool_size = 1, cancel from any node, and what clients see when the owner fails or leaves.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusterPoolingTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private static readonly string SupervisorStarted = $"pool {TestUsers.Database}: supervisor started";

    /// <summary>The node whose current process runs the pool's supervisor (after a query has placed the pool).</summary>
    private static async Task<PoolerClusterNode> OwnerAsync(PoolerCluster cluster)
    {
        await using (var connection = await cluster[0].OpenAsync())
            Assert.Equal(1, await ScalarAsync<int>(connection, "SELECT 1"));
        var owners = cluster.Running.Where(n => n.Process.Lines.Any(l => l.Contains(SupervisorStarted, StringComparison.Ordinal))).ToList();
        Assert.True(owners.Count == 1, $"expected one owner of the pool, found {owners.Count}:\n{cluster.Output}");
        return owners[0];
    }

    [Fact]
    public async Task Sixty_clients_on_three_nodes_share_two_server_connections_and_get_their_own_answers()
    {
        await using var cluster = await PoolerCluster.StartAsync(postgres.Server, poolSize: 2);
        await using var activity = await ServerActivity.OpenAsync(postgres.Server);
        var owner = await OwnerAsync(cluster);
        output.WriteLine($"pool owned by {owner}");

        using var stop = new CancellationTokenSource();
        long peak = 0;
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, await activity.ConnectionsAsync(TestUsers.Scram.Name));
                await Task.Delay(10);
            }
        });

        var wrong = new ConcurrentBag<string>();
        var backends = new ConcurrentDictionary<int, byte>();
        var clients = Enumerable.Range(0, 60).Select(async id =>
        {
            var node = cluster[id % 3];
            await using var connection = await node.OpenAsync();
            for (var i = 0; i < 15; i++)
            {
                await using var transaction = await connection.BeginTransactionAsync();
                await using var command = new NpgsqlCommand("SELECT @id::int, @i::int, pg_backend_pid()", connection, transaction);
                command.Parameters.AddWithValue("id", id);
                command.Parameters.AddWithValue("i", i);
                await using (var reader = await command.ExecuteReaderAsync())
                {
                    await reader.ReadAsync();
                    if (reader.GetInt32(0) != id || reader.GetInt32(1) != i)
                        wrong.Add($"client {id} on {node.Name} asked ({id}, {i}) and got ({reader.GetInt32(0)}, {reader.GetInt32(1)})");
                    backends.TryAdd(reader.GetInt32(2), 0);
                }
                await transaction.CommitAsync();
            }
        }).ToList();
        await Task.WhenAll(clients);
        stop.Cancel();
        await sampler;

        Assert.Empty(wrong);
        Assert.InRange(peak, 1, 2);
        Assert.InRange(backends.Count, 1, 2);
        output.WriteLine($"peak server connections {peak}, distinct backends {backends.Count}");
    }

    [Fact]
    public async Task With_pool_size_one_every_client_on_every_node_runs_on_the_same_backend()
    {
        await using var cluster = await PoolerCluster.StartAsync(postgres.Server, poolSize: 1);
        var pids = new ConcurrentBag<int>();
        var clients = Enumerable.Range(0, 12).Select(async id =>
        {
            await using var connection = await cluster[id % 3].OpenAsync();
            for (var i = 0; i < 10; i++)
                pids.Add(await ScalarAsync<int>(connection, "SELECT pg_backend_pid()"));
        }).ToList();
        await Task.WhenAll(clients);

        Assert.Equal(120, pids.Count);
        Assert.Single(pids.Distinct());
    }

    [Fact]
    public async Task A_cancel_sent_to_one_node_cancels_a_query_of_a_client_on_another()
    {
        await using var cluster = await PoolerCluster.StartAsync(postgres.Server, poolSize: 2);
        var owner = await OwnerAsync(cluster);
        var others = cluster.Nodes.Where(n => n != owner).ToList();
        var entry = others[0];   // the client's node: relays it to the owner
        var elsewhere = others[1]; // where the cancel arrives
        await using var activity = await ServerActivity.OpenAsync(postgres.Server);

        var (client, login) = await WireClient.LoginAsync(entry.Host, entry.Port,
            TestUsers.Scram.Name, TestUsers.Scram.Password, TestUsers.Database);
        await using var _ = client;
        var key = Assert.IsType<BackendKeyData>(login.KeyData);

        var running = client.QueryAsync("SELECT pg_sleep(30)");
        await Eventually.WaitUntilAsync(async () => await activity.ActiveQueriesAsync("pg_sleep(30)") == 1,
            TimeSpan.FromSeconds(10), "PostgreSQL runs pg_sleep(30)");
        await SendCancelRequestAsync(elsewhere, key);

        Assert.Same(running, await Task.WhenAny(running, Task.Delay(TimeSpan.FromSeconds(10))));
        Assert.Equal("57014", (await running).Error?.SqlState);
        Assert.Equal("1", (await client.QueryAsync("SELECT 1")).Text(0, 0));
    }

    [Fact]
    public async Task When_the_owner_is_killed_clients_of_other_nodes_keep_their_connections_and_are_served_again()
    {
        await using var cluster = await PoolerCluster.StartAsync(postgres.Server, poolSize: 2);
        var owner = await OwnerAsync(cluster);
        var survivors = cluster.Nodes.Where(n => n != owner).ToList();

        // Clients between transactions when the owner dies.
        var idle = new List<NpgsqlConnection>();
        foreach (var node in survivors)
        {
            var connection = await node.OpenAsync();
            Assert.Equal(1, await ScalarAsync<int>(connection, "SELECT 1"));
            idle.Add(connection);
        }

        // Clients running transactions all the while.
        using var stop = new CancellationTokenSource();
        var killedAt = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = Stopwatch.StartNew();
        var errors = new ConcurrentBag<string>();
        var servedAgainAfter = new ConcurrentBag<TimeSpan>();
        var reconnected = 0;
        var busy = Enumerable.Range(0, 6).Select(async id =>
        {
            var node = survivors[id % survivors.Count];
            var connection = await node.OpenAsync();
            var recovered = false;
            while (!stop.IsCancellationRequested)
            {
                var started = clock.ElapsedTicks;
                try
                {
                    if (connection.State != System.Data.ConnectionState.Open)
                    {
                        // A driver may drop its connection after a failed transaction; an application reconnects.
                        await connection.DisposeAsync();
                        connection = await node.OpenAsync();
                        Interlocked.Increment(ref reconnected);
                    }
                    await using var transaction = await connection.BeginTransactionAsync();
                    Assert.Equal(id, await ScalarAsync<int>(connection, $"SELECT {id}", transaction));
                    await transaction.CommitAsync();
                    if (!recovered && killedAt.Task.IsCompleted && started > killedAt.Task.Result)
                    {
                        recovered = true;
                        servedAgainAfter.Add(TimeSpan.FromTicks((long)((clock.ElapsedTicks - killedAt.Task.Result) * (TimeSpan.TicksPerSecond / (double)Stopwatch.Frequency))));
                    }
                }
                catch (Exception e) when (e is PostgresException or NpgsqlException)
                {
                    errors.Add($"{clock.Elapsed.TotalSeconds:0.00} s {node.Name} client {id} ({connection.State}): " +
                               (e is PostgresException p ? $"{p.SqlState} {p.MessageText}" : e.ToString()));
                }
                await Task.Delay(20);
            }
            await connection.DisposeAsync();
            return recovered;
        }).ToList();

        await Task.Delay(500); // let every client run a few transactions through the owner
        await owner.KillAsync();
        killedAt.SetResult(clock.ElapsedTicks);
        try
        {
            await Eventually.WaitUntilAsync(() => Task.FromResult(servedAgainAfter.Count == busy.Count || busy.Any(b => b.IsCompleted)),
                TimeSpan.FromSeconds(60), "every busy client is served again after the owner was killed");
        }
        catch (TimeoutException)
        {
            Assert.Fail($"not every client was served again; errors:\n{string.Join("\n", errors)}\n{cluster.Output}");
        }
        stop.Cancel();
        Assert.True((await Task.WhenAll(busy)).All(served => served), string.Join("\n", errors));
        // A transaction that was running on the dead owner fails cleanly; nothing else fails.
        Assert.All(errors, e => Assert.Contains("40003", e));

        // The idle clients never noticed.
        foreach (var connection in idle)
        {
            Assert.Equal(2, await ScalarAsync<int>(connection, "SELECT 2"));
            await connection.DisposeAsync();
        }
        var worst = servedAgainAfter.Max();
        output.WriteLine($"owner {owner.Name} killed; every client served again within {worst.TotalSeconds:0.0} s " +
                         $"(fastest {servedAgainAfter.Min().TotalSeconds:0.0} s); {errors.Count} transaction(s) failed with 40003; " +
                         $"{reconnected} client(s) reconnected after theirs");
        foreach (var error in errors.Take(5))
            output.WriteLine(error);
        // Target is 10 s, measured ~8 s (failure detection ~3 s, stable-after, removal, removal margin);
        // the bound here leaves room for a loaded 2-core machine.
        Assert.True(worst < TimeSpan.FromSeconds(20), $"served again only after {worst.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task When_the_owner_leaves_gracefully_clients_of_other_nodes_see_no_error()
    {
        await using var cluster = await PoolerCluster.StartAsync(postgres.Server, poolSize: 2);
        var owner = await OwnerAsync(cluster);
        var survivors = cluster.Nodes.Where(n => n != owner).ToList();

        using var stop = new CancellationTokenSource();
        var errors = new ConcurrentBag<string>();
        var completed = new ConcurrentDictionary<int, int>();
        var busy = Enumerable.Range(0, 6).Select(async id =>
        {
            var node = survivors[id % survivors.Count];
            NpgsqlConnection? connection = null;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    if (connection?.State != System.Data.ConnectionState.Open)
                    {
                        if (connection is not null)
                            await connection.DisposeAsync();
                        connection = null;
                        connection = await node.OpenAsync();
                    }
                    await using var transaction = await connection.BeginTransactionAsync();
                    Assert.Equal(id, await ScalarAsync<int>(connection, $"SELECT {id}", transaction));
                    await transaction.CommitAsync();
                    completed.AddOrUpdate(id, 1, (_, n) => n + 1);
                }
                catch (Exception e) when (e is PostgresException or NpgsqlException)
                {
                    errors.Add($"{node.Name} client {id}: {e.Message}");
                }
                await Task.Delay(20);
            }
            if (connection is not null)
                await connection.DisposeAsync();
        }).ToList();

        await Task.Delay(500);
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, await owner.StopAsync(TimeSpan.FromSeconds(60)));
        var before = completed.ToDictionary(c => c.Key, c => c.Value);
        try
        {
            await Eventually.WaitUntilAsync(() => Task.FromResult(
                    Enumerable.Range(0, 6).All(id => completed.GetValueOrDefault(id) > before.GetValueOrDefault(id) + 3)),
                TimeSpan.FromSeconds(60), () =>
                    $"every client is served by the pool's new owner; transactions per client before the owner left: " +
                    $"{string.Join(", ", Enumerable.Range(0, 6).Select(id => $"{id}={before.GetValueOrDefault(id)}"))}, now: " +
                    $"{string.Join(", ", Enumerable.Range(0, 6).Select(id => $"{id}={completed.GetValueOrDefault(id)}"))}; " +
                    $"errors: [{string.Join("; ", errors)}]");
        }
        catch (TimeoutException e)
        {
            // Where each node's clients are stuck (waiting for a server, active on a relay ...).
            throw new TimeoutException($"{e.Message}\n{await ClientStatesAsync(survivors)}\n{cluster.Output}");
        }
        stop.Cancel();
        await Task.WhenAll(busy);

        output.WriteLine($"owner {owner.Name} left after {clock.Elapsed.TotalSeconds:0.0} s; no client saw an error");
        Assert.True(errors.IsEmpty, string.Join("\n", errors) + "\n" + cluster.Output);
        var newOwner = cluster.Running.Single(n => n.Process.Lines.Any(l => l.Contains(SupervisorStarted, StringComparison.Ordinal)));
        Assert.NotEqual(owner, newOwner);
    }

    /// <summary>SHOW CLIENTS on each node, one line per client, for a failure message.</summary>
    private static async Task<string> ClientStatesAsync(IEnumerable<PoolerClusterNode> nodes)
    {
        var lines = new List<string>();
        foreach (var node in nodes)
        {
            try
            {
                await using var console = await AdminConsole.OpenAsync(node.Host, node.Port);
                var clients = await AdminConsole.QueryAsync(console, "SHOW CLIENTS");
                lines.AddRange(clients.Rows.Select(row => $"{node.Name} client: " +
                    string.Join(" ", row.Where(c => c.Key is "user" or "database" or "state" or "port" or "connect_time" or
                        "request_time" or "wait" or "wait_us" or "link").Select(c => $"{c.Key}={c.Value}"))));
            }
            catch (Exception e) when (e is NpgsqlException or PostgresException)
            {
                lines.Add($"{node.Name}: SHOW CLIENTS failed: {e.Message}");
            }
        }
        return string.Join("\n", lines);
    }

    [Fact]
    public async Task A_relay_still_logging_in_when_its_node_shuts_down_is_refused_and_does_not_hold_up_the_shutdown()
    {
        // An entry node whose relay is mid-handshake when the owner begins to leave must hear so
        // (it then looks the pool up again), not be half let in and kept waiting for shutdown_timeout.
        await using var cluster = await PoolerCluster.StartAsync(postgres.Server, nodeCount: 1, general: "shutdown_timeout = 60000");
        var node = cluster[0];
        await using var relay = await WireClient.ConnectAsync(node.Host, node.RelayPort);
        var nonce = await relay.ReadMessageAsync();
        Assert.Equal((byte)'N', nonce.Type); // the node's challenge: the relay's login has begun

        var clock = Stopwatch.StartNew();
        var stopped = node.StopAsync(TimeSpan.FromSeconds(40));
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var answer = await relay.ReadMessageAsync(wait.Token);
        Assert.True(answer.Type == (byte)'E', $"expected an ErrorResponse, got {answer}\n{cluster.Output}");
        var error = ErrorResponse.Read(answer.Payload);
        Assert.Equal("57P01", error.SqlState);
        Assert.Contains("shutting down", error.Message);
        Assert.Equal(0, await stopped);
        output.WriteLine($"refused with {error.SqlState} \"{error.Message}\"; the node exited {clock.Elapsed.TotalSeconds:0.0} s after SIGTERM");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the node took {clock.Elapsed.TotalSeconds:0.0} s to stop\n{cluster.Output}");
    }

    [Fact]
    public async Task An_operator_moves_the_pool_to_another_node_and_its_clients_follow()
    {
        await using var cluster = await PoolerCluster.StartAsync(postgres.Server, poolSize: 2);
        var owner = await OwnerAsync(cluster);
        var target = cluster.Nodes.First(n => n != owner);
        var clients = new List<NpgsqlConnection>();
        foreach (var node in cluster.Nodes)
        {
            var connection = await node.OpenAsync();
            Assert.Equal(1, await ScalarAsync<int>(connection, "SELECT 1"));
            clients.Add(connection);
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var baseUri = $"http://{cluster[2].Host}:{cluster[2].HttpPort}";

        var moved = await http.PostAsync($"{baseUri}/pools/{TestUsers.Database}/move?to=127.0.0.1:{target.ClusterPort}", null);
        var body = await moved.Content.ReadAsStringAsync();
        Assert.True(moved.IsSuccessStatusCode, $"{moved.StatusCode}: {body}\n{cluster.Output}");
        Assert.Contains(target.ClusterAddress, body);

        var placement = await http.GetStringAsync($"{baseUri}/pools");
        Assert.Contains(target.ClusterAddress, placement);
        Assert.Contains(target.Process.Lines, l => l.Contains(SupervisorStarted, StringComparison.Ordinal));
        Assert.Contains(owner.Process.Lines, l => l.Contains("handing off to another node", StringComparison.Ordinal));
        // Every client, on every node (the old owner's own ones included), goes on with the pool where it is now.
        foreach (var connection in clients)
        {
            Assert.Equal(2, await ScalarAsync<int>(connection, "SELECT 2"));
            await connection.DisposeAsync();
        }
        // New clients too, on nodes that remembered where the pool used to be.
        foreach (var node in cluster.Nodes)
        {
            await using var connection = await node.OpenAsync();
            Assert.Equal(3, await ScalarAsync<int>(connection, "SELECT 3"));
        }
    }

    [Fact]
    public async Task The_admin_console_of_any_node_shows_the_whole_cluster_and_pauses_the_pool_where_it_lives()
    {
        await using var cluster = await PoolerCluster.StartAsync(postgres.Server, poolSize: 2);
        var owner = await OwnerAsync(cluster);
        var other = cluster.Nodes.First(n => n != owner);
        await using var admin = await AdminConsole.OpenAsync(other.Host, other.Port);

        var nodes = await RowsAsync(admin, "SHOW NODES");
        Assert.Equal(cluster.Nodes.Select(n => n.ClusterAddress).Order(), nodes.Select(r => r["node"]).Order());
        Assert.All(nodes, r => Assert.Equal("Up", r["status"]));
        Assert.Contains(TestUsers.Database, Assert.Single(nodes, r => r["node"] == owner.ClusterAddress)["pools"]);
        Assert.Equal(owner.ClusterAddress,
            Assert.Single(await RowsAsync(admin, "SHOW POOL_PLACEMENT"), r => r["pool"] == TestUsers.Database)["node"]);
        var pools = await RowsAsync(admin, "SHOW CLUSTER POOLS");
        Assert.Equal(cluster.Nodes.Select(n => n.ClusterAddress).Order(), pools.Select(r => r["node"]).Distinct().Order());

        // PAUSE on a node that does not own the pool pauses it where it lives: a client of a third node waits.
        var third = cluster.Nodes.First(n => n != owner && n != other);
        await using var client = await third.OpenAsync(); // before PAUSE: opening runs Npgsql's type query
        await AdminConsole.QueryAsync(admin, $"PAUSE {TestUsers.Database}");
        var query = ScalarAsync<int>(client, "SELECT 5");
        await Eventually.WaitUntilAsync(async () => (await RowsAsync(admin, "SHOW CLUSTER POOLS"))
                .Any(r => r["node"] == owner.ClusterAddress && r["database"] == TestUsers.Database && r["cl_waiting"] == "1"),
            TimeSpan.FromSeconds(10), "the owner counts the relayed client as waiting");
        Assert.False(query.IsCompleted, "a query ran on a paused pool");
        await AdminConsole.QueryAsync(admin, $"RESUME {TestUsers.Database}");
        Assert.Equal(5, await query.WaitAsync(TimeSpan.FromSeconds(10)));

        // RELOAD CLUSTER on one node reloads every node's own file.
        foreach (var node in cluster.Nodes)
            await File.WriteAllTextAsync(node.ConfigPath, (await File.ReadAllTextAsync(node.ConfigPath)).Replace("pool_size = 2", "pool_size = 3"));
        await AdminConsole.QueryAsync(admin, "RELOAD CLUSTER");
        foreach (var node in cluster.Nodes)
        {
            await using var console = await AdminConsole.OpenAsync(node.Host, node.Port);
            var databases = await RowsAsync(console, "SHOW DATABASES");
            Assert.Equal("9", Assert.Single(databases, r => r["name"] == TestUsers.Database)["pool_size"]); // 3 users × 3
        }
    }

    private static async Task<IReadOnlyList<Dictionary<string, string?>>> RowsAsync(NpgsqlConnection connection, string sql) =>
        (await AdminConsole.QueryAsync(connection, sql)).Rows;

    [Fact]
    public async Task Relayed_clients_beyond_max_relayed_connections_get_53300_at_once()
    {
        await using var cluster = await PoolerCluster.StartAsync(postgres.Server, poolSize: 2, nodeCount: 2,
            clusterExtra: "max_relayed_connections = 1");
        var owner = await OwnerAsync(cluster);
        var entry = cluster.Nodes.Single(n => n != owner);

        await using var first = await entry.OpenAsync();
        Assert.Equal(1, await ScalarAsync<int>(first, "SELECT 1"));
        await using var second = await entry.OpenAsync();
        var clock = Stopwatch.StartNew();
        var refused = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync<int>(second, "SELECT 1"));

        Assert.Equal("53300", refused.SqlState);
        Assert.Contains("max_relayed_connections (1)", refused.MessageText);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"refused only after {clock.Elapsed}");
        // The relayed client already served is not disturbed, and the owner counts it.
        Assert.Equal(2, await ScalarAsync<int>(first, "SELECT 2"));
        using var http = new HttpClient();
        var stats = await http.GetStringAsync($"http://{owner.Host}:{owner.HttpPort}/stats");
        Assert.Contains("\"relayed_clients\":1", stats);

        // A client that leaves frees its relay on the owner: the next one gets it.
        await first.CloseAsync();
        await Eventually.WaitUntilAsync(async () =>
                (await http.GetStringAsync($"http://{owner.Host}:{owner.HttpPort}/stats")).Contains("\"relayed_clients\":0"),
            TimeSpan.FromSeconds(10), "the owner counts no relayed client once the relayed one has left");
        await using var third = await entry.OpenAsync();
        Assert.Equal(3, await ScalarAsync<int>(third, "SELECT 3"));
    }

    private static async Task SendCancelRequestAsync(PoolerClusterNode node, BackendKeyData key)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(node.Host, node.Port);
        var packet = new ArrayBufferWriter<byte>();
        new CancelRequest(key.ProcessId, key.SecretKey).WriteTo(packet);
        await socket.SendAsync(packet.WrittenMemory);
        using var closed = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.Equal(0, await socket.ReceiveAsync(new byte[16], SocketFlags.None, closed.Token));
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, NpgsqlTransaction? transaction = null)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
