using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;

namespace Pooler.IntegrationTests;

public sealed class StatementPoolFixture : PoolerFixture
{
    protected override string PoolMode => "statement";
    protected override int PoolSize => 2;
}

/// <summary>Statement mode: a server connection per statement; transaction blocks are refused.</summary>
public sealed class StatementModeTests(StatementPoolFixture fixture) : IClassFixture<StatementPoolFixture>
{
    [Fact]
    public async Task Single_statements_run_and_the_connection_goes_on()
    {
        await using var connection = await fixture.Pooler.OpenAsync();
        for (var i = 0; i < 10; i++)
        {
            await using var command = new NpgsqlCommand("SELECT @i::int * 2", connection);
            command.Parameters.AddWithValue("i", i);
            Assert.Equal(i * 2, (int)(await command.ExecuteScalarAsync())!);
        }
    }

    [Fact]
    public async Task Prepared_statements_run_on_every_connection_the_clients_get()
    {
        // Three clients on two connections, each with a statement prepared once and run many times.
        var clients = Enumerable.Range(1, 3).Select(async id =>
        {
            await using var connection = await fixture.Pooler.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT pg_backend_pid(), @i::int * @id::int", connection);
            command.Parameters.AddWithValue("i", 0);
            command.Parameters.AddWithValue("id", id);
            await command.PrepareAsync();
            var pids = new HashSet<int>();
            for (var i = 0; i < 40; i++)
            {
                command.Parameters["i"].Value = i;
                await using var reader = await command.ExecuteReaderAsync();
                Assert.True(await reader.ReadAsync());
                pids.Add(reader.GetInt32(0));
                Assert.Equal(i * id, reader.GetInt32(1));
            }
            return pids;
        }).ToList();
        var seen = (await Task.WhenAll(clients)).SelectMany(p => p).Distinct().Count();
        Assert.True(seen == 2, $"the clients ran on {seen} server connections (pool_size 2)");
    }

    [Fact]
    public async Task A_transaction_block_is_refused_with_a_clear_error_and_others_carry_on()
    {
        await using var bystander = await fixture.Pooler.OpenAsync();
        await using var connection = await fixture.Pooler.OpenAsync();
        await using var begin = new NpgsqlCommand("BEGIN", connection);

        var error = await Assert.ThrowsAsync<PostgresException>(() => begin.ExecuteNonQueryAsync());

        Assert.Equal("25001", error.SqlState);
        Assert.Contains("statement pool mode", error.MessageText);
        Assert.Contains("transaction", error.Hint);
        await using var still = new NpgsqlCommand("SELECT 'fine'", bystander);
        Assert.Equal("fine", await still.ExecuteScalarAsync());
        // The refused transaction died with its server connection: nothing is left open.
        var open = await fixture.Server.PsqlAsync(
            $"SELECT count(*) FROM pg_stat_activity WHERE datname = '{TestUsers.Database}' AND state LIKE 'idle in transaction%'");
        Assert.Equal("0", open);
    }
}
