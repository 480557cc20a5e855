using System.Buffers;
using System.Text;
using Pooler.IntegrationTests.Infrastructure;
using Pooler.Protocol;
using Xunit;

namespace Pooler.IntegrationTests;

/// <summary>Transaction mode, two server connections, room for three statements on each.</summary>
public sealed class TransactionPreparedFixture : PoolerFixture
{
    public const int CacheSize = 3;
    protected override string PoolMode => "transaction";
    protected override int PoolSize => 2;
    protected override string General => $"prepared_statements_cache_size = {CacheSize}";
}

/// <summary>
/// Named prepared statements (protocol Parse/Bind/Describe/Close, SQL DEALLOCATE) in transaction
/// mode, on the wire: a client's statement works on whichever server connection it gets, and the
/// client sees exactly the messages PostgreSQL itself would send — checked message by message
/// against a direct connection.
/// </summary>
public sealed class PreparedStatementTests(TransactionPreparedFixture fixture) : IClassFixture<TransactionPreparedFixture>
{
    private const string Doubler = "SELECT pg_backend_pid(), $1::int * 2";

    private Task<WireClient> PoolerClientAsync() => LoginAsync(fixture.Pooler.Host, fixture.Pooler.Port);

    private Task<WireClient> DirectClientAsync() => LoginAsync(fixture.Server.Host, fixture.Server.Port);

    private static async Task<WireClient> LoginAsync(string host, int port)
    {
        var (client, _) = await WireClient.LoginAsync(host, port, TestUsers.Scram.Name, TestUsers.Scram.Password, TestUsers.Database);
        return client;
    }

    [Fact]
    public async Task A_statement_prepared_once_runs_on_another_server_connection()
    {
        await using var client = await PoolerClientAsync();
        await using var other = await PoolerClientAsync();
        Assert.Equal("1Z", Types(await ExchangeAsync(client, w => { new Parse("doubler", Doubler, [TypeOids.Int4]).WriteTo(w); Sync.Write(w); })));
        var (firstPid, firstValue) = await RunDoublerAsync(client, "doubler", 21);
        Assert.Equal("42", firstValue);

        // The other client takes the connection the statement was prepared on and holds it.
        await other.QueryAsync("BEGIN");
        var held = (await other.QueryAsync("SELECT pg_backend_pid()")).Text(0, 0);
        Assert.Equal(firstPid, held);

        var (secondPid, secondValue) = await RunDoublerAsync(client, "doubler", 50);
        Assert.NotEqual(firstPid, secondPid);
        Assert.Equal("100", secondValue);
        await other.QueryAsync("COMMIT");
    }

    [Fact]
    public async Task The_client_sees_what_postgresql_would_send_for_parse_describe_bind_close()
    {
        // Another client prepares the same text first, so the pooler's connection already has it.
        await using (var first = await PoolerClientAsync())
            await ExchangeAsync(first, w => { new Parse("x", "SELECT $1::text || 'y'", [TypeOids.Text]).WriteTo(w); Sync.Write(w); });

        var script = new List<Action<IBufferWriter<byte>>>
        {
            w => { new Parse("mine", "SELECT $1::text || 'y'", [TypeOids.Text]).WriteTo(w); new Describe(StatementOrPortal.Statement, "mine").WriteTo(w); Sync.Write(w); },
            w => { new Bind("", "mine", [], [Encoding.UTF8.GetBytes("x")], []).WriteTo(w); new Describe(StatementOrPortal.Portal, "").WriteTo(w); new Execute("", 0).WriteTo(w); Sync.Write(w); },
            w => { new Close(StatementOrPortal.Statement, "mine").WriteTo(w); new Close(StatementOrPortal.Statement, "never_prepared").WriteTo(w); Sync.Write(w); },
            w => { new Bind("", "mine", [], [Encoding.UTF8.GetBytes("x")], []).WriteTo(w); new Execute("", 0).WriteTo(w); Sync.Write(w); },
            w => { new Parse("mine", "SELECT $1::text || 'y'", [TypeOids.Text]).WriteTo(w); new Parse("", "SELECT 1", []).WriteTo(w); Sync.Write(w); },
            // SQL DEALLOCATE through the extended protocol, as psycopg sends it.
            w => { new Parse("", "DEALLOCATE mine", []).WriteTo(w); new Bind("", "", [], [], []).WriteTo(w); new Describe(StatementOrPortal.Portal, "").WriteTo(w); new Execute("", 0).WriteTo(w); Sync.Write(w); },
            w => { new Bind("", "mine", [], [Encoding.UTF8.GetBytes("x")], []).WriteTo(w); new Execute("", 0).WriteTo(w); Sync.Write(w); },
            w => { new Parse("mine", "SELECT $1::text || 'y'", [TypeOids.Text]).WriteTo(w); new Parse("", "DEALLOCATE ALL", []).WriteTo(w); new Bind("", "", [], [], []).WriteTo(w); new Execute("", 0).WriteTo(w); Sync.Write(w); },
            w => { new Bind("", "mine", [], [Encoding.UTF8.GetBytes("x")], []).WriteTo(w); new Execute("", 0).WriteTo(w); Sync.Write(w); },
        };

        await using var direct = await DirectClientAsync();
        await using var pooled = await PoolerClientAsync();
        for (var i = 0; i < script.Count; i++)
        {
            var expected = await ExchangeAsync(direct, script[i]);
            var actual = await ExchangeAsync(pooled, script[i]);
            Assert.True(Types(expected) == Types(actual), $"step {i}: PostgreSQL sent {Types(expected)}, the pooler {Types(actual)}");
            Assert.Equal(Errors(expected), Errors(actual));
            Assert.Equal(Tags(expected), Tags(actual));
        }
    }

    [Fact]
    public async Task A_failed_parse_leaves_nothing_registered_and_skipped_messages_are_undone()
    {
        await using var client = await PoolerClientAsync();
        var failed = await ExchangeAsync(client, w =>
        {
            new Parse("broken", "SELEC 1", []).WriteTo(w);
            new Bind("", "broken", [], [], []).WriteTo(w);
            new Execute("", 0).WriteTo(w);
            Sync.Write(w);
        });
        Assert.Equal("EZ", Types(failed));
        Assert.Equal(["42601"], Errors(failed));

        // An error early in a batch makes the server skip the rest, including a Parse.
        var skipped = await ExchangeAsync(client, w =>
        {
            new Bind("", "no_such_statement", [], [], []).WriteTo(w);
            new Parse("skipped", "SELECT 'skipped'", []).WriteTo(w);
            Sync.Write(w);
        });
        Assert.Equal(["26000"], Errors(skipped));

        foreach (var name in new[] { "broken", "skipped" })
        {
            var use = await ExchangeAsync(client, w => { new Bind("", name, [], [], []).WriteTo(w); new Execute("", 0).WriteTo(w); Sync.Write(w); });
            Assert.Equal(["26000"], Errors(use));
            Assert.Contains($"\"{name}\"", Error(use)!.Message);
        }

        // Both names can be prepared for real now (no "already exists").
        var again = await ExchangeAsync(client, w =>
        {
            new Parse("broken", "SELECT 1", []).WriteTo(w);
            new Parse("skipped", "SELECT 2", []).WriteTo(w);
            Sync.Write(w);
        });
        Assert.Equal("11Z", Types(again));
    }

    [Fact]
    public async Task Close_and_deallocate_end_the_clients_statement_but_not_one_another_client_shares()
    {
        await using var client = await PoolerClientAsync();
        await using var sharer = await PoolerClientAsync();
        const string sql = "SELECT $1::int + 1000";
        foreach (var c in new[] { client, sharer })
            Assert.Equal("1Z", Types(await ExchangeAsync(c, w => { new Parse("plus", sql, [TypeOids.Int4]).WriteTo(w); Sync.Write(w); })));

        Assert.Equal("3Z", Types(await ExchangeAsync(client, w => { new Close(StatementOrPortal.Statement, "plus").WriteTo(w); Sync.Write(w); })));
        Assert.Equal(["26000"], Errors(await BindPlusAsync(client, 1)));
        Assert.Equal("1001", (await BindPlusAsync(sharer, 1)).Rows().Single());

        // SQL DEALLOCATE of a protocol-level statement: answered as PostgreSQL does.
        var deallocate = await client.QueryAsync("DEALLOCATE plus");
        Assert.Equal("26000", deallocate.Error?.SqlState); // closed already, as PostgreSQL would say
        Assert.Equal("1Z", Types(await ExchangeAsync(client, w => { new Parse("plus", sql, [TypeOids.Int4]).WriteTo(w); Sync.Write(w); })));
        var done = await client.QueryAsync("DEALLOCATE plus");
        Assert.Null(done.Error);
        Assert.Equal(["DEALLOCATE"], done.CommandTags);
        Assert.Equal(["26000"], Errors(await BindPlusAsync(client, 2)));
        Assert.Equal("1002", (await BindPlusAsync(sharer, 2)).Rows().Single());

        // DEALLOCATE ALL drops every statement of this client; preparing again works.
        Assert.Equal("1Z", Types(await ExchangeAsync(client, w => { new Parse("plus", sql, [TypeOids.Int4]).WriteTo(w); Sync.Write(w); })));
        Assert.Null((await client.QueryAsync("DEALLOCATE ALL")).Error);
        Assert.Equal(["26000"], Errors(await BindPlusAsync(client, 3)));
        Assert.Equal("1Z", Types(await ExchangeAsync(client, w => { new Parse("plus", sql, [TypeOids.Int4]).WriteTo(w); Sync.Write(w); })));
        Assert.Equal("1003", (await BindPlusAsync(client, 3)).Rows().Single());
        Assert.Equal("1003", (await BindPlusAsync(sharer, 3)).Rows().Single());
    }

    [Fact]
    public async Task A_server_connection_keeps_at_most_the_cache_size_of_statements()
    {
        await using var client = await PoolerClientAsync();
        const int statements = TransactionPreparedFixture.CacheSize + 3;
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < statements; i++)
            {
                if (round == 0)
                    Assert.Equal("1Z", Types(await ExchangeAsync(client, w => { new Parse($"s{i}", $"SELECT {i} + $1::int", [TypeOids.Int4]).WriteTo(w); Sync.Write(w); })));
                var result = await ExchangeAsync(client, w =>
                {
                    new Bind("", $"s{i}", [], [Encoding.UTF8.GetBytes("100")], []).WriteTo(w);
                    new Execute("", 0).WriteTo(w);
                    Sync.Write(w);
                });
                Assert.Equal([(100 + i).ToString()], result.Rows());
            }
        }
        // Counted on whichever connection this query runs on: the pooler's statements there.
        var held = (await client.QueryAsync("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'pooler\\_%'")).Text(0, 0);
        Assert.InRange(int.Parse(held!), 1, TransactionPreparedFixture.CacheSize);
    }

    [Fact]
    public async Task A_large_bind_passes_and_a_named_parse_too_large_to_hold_is_refused_with_a_clear_error()
    {
        await using var client = await PoolerClientAsync();
        Assert.Equal("1Z", Types(await ExchangeAsync(client, w => { new Parse("len", "SELECT length($1::text)", [TypeOids.Text]).WriteTo(w); Sync.Write(w); })));
        var big = new string('x', 3 * 1024 * 1024);
        var result = await ExchangeAsync(client, w =>
        {
            new Bind("", "len", [], [Encoding.UTF8.GetBytes(big)], []).WriteTo(w);
            new Execute("", 0).WriteTo(w);
            Sync.Write(w);
        });
        Assert.Equal([big.Length.ToString()], result.Rows());

        await using var bystander = await PoolerClientAsync();
        await client.SendAsync(w => { new Parse("huge", $"SELECT '{new string('y', 600 * 1024)}'", []).WriteTo(w); Sync.Write(w); });
        var refusal = await client.ReadMessageAsync();
        Assert.Equal(BackendMessageType.ErrorResponse, refusal.Type);
        var error = ErrorResponse.Read(refusal.Payload);
        Assert.Equal("54000", error.SqlState);
        Assert.Contains("prepared statement", error.Message);
        Assert.True(await client.IsClosedByServerAsync());
        Assert.Equal("fine", (await bystander.QueryAsync("SELECT 'fine'")).Text(0, 0));
    }

    private static async Task<(string Pid, string Value)> RunDoublerAsync(WireClient client, string name, int argument)
    {
        var messages = await ExchangeAsync(client, w =>
        {
            new Bind("", name, [], [Encoding.UTF8.GetBytes(argument.ToString())], []).WriteTo(w);
            new Execute("", 0).WriteTo(w);
            Sync.Write(w);
        });
        Assert.True(Types(messages) == "2DCZ", $"got {Types(messages)} {string.Join(", ", Errors(messages))}");
        var row = DataRow.Read(messages.Single(m => m.Type == BackendMessageType.DataRow).Payload);
        return (row.GetText(0)!, row.GetText(1)!);
    }

    private static Task<List<BackendMessage>> BindPlusAsync(WireClient client, int argument) => ExchangeAsync(client, w =>
    {
        new Bind("", "plus", [], [Encoding.UTF8.GetBytes(argument.ToString())], []).WriteTo(w);
        new Execute("", 0).WriteTo(w);
        Sync.Write(w);
    });

    /// <summary>Sends one batch and reads every message up to its ReadyForQuery.</summary>
    private static async Task<List<BackendMessage>> ExchangeAsync(WireClient client, Action<IBufferWriter<byte>> write)
    {
        await client.SendAsync(write);
        var messages = new List<BackendMessage>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            var message = await client.ReadMessageAsync(timeout.Token);
            if (message.Type is BackendMessageType.NoticeResponse or BackendMessageType.ParameterStatus)
                continue;
            messages.Add(message);
            if (message.Type == BackendMessageType.ReadyForQuery)
                return messages;
        }
    }

    private static List<string> Tags(IEnumerable<BackendMessage> messages) =>
        messages.Where(m => m.Type == BackendMessageType.CommandComplete).Select(m => Encoding.UTF8.GetString(m.Payload).TrimEnd('\0')).ToList();

    private static string Types(IEnumerable<BackendMessage> messages) => new(messages.Select(m => (char)m.Type).ToArray());

    private static ErrorResponse? Error(IEnumerable<BackendMessage> messages) =>
        messages.Where(m => m.Type == BackendMessageType.ErrorResponse).Select(m => ErrorResponse.Read(m.Payload)).FirstOrDefault();

    private static List<string?> Errors(IEnumerable<BackendMessage> messages) =>
        messages.Where(m => m.Type == BackendMessageType.ErrorResponse).Select(m => ErrorResponse.Read(m.Payload).SqlState).ToList();
}

internal static class BackendMessageListExtensions
{
    public static List<string?> Rows(this IEnumerable<BackendMessage> messages) =>
        messages.Where(m => m.Type == BackendMessageType.DataRow).Select(m => DataRow.Read(m.Payload).GetText(0)).ToList();
}
