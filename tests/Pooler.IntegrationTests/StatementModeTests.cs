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
