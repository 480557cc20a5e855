using System.Net.Sockets;
using Npgsql;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;

namespace Pooler.IntegrationTests;

/// <summary>SIGTERM: stop accepting, let running transactions finish, close the rest, exit 0.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ShutdownTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Sigterm_lets_a_running_transaction_commit_then_closes_every_client()
    {
        await using var pooler = await PoolerNode.StartAsync(postgres.Server, "transaction", poolSize: 2,
            general: "shutdown_timeout = 20000");
        await using var idle = await pooler.OpenAsync();
        await using var busy = await pooler.OpenAsync();
        await using (var setup = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS shutdown_probe (id int)", busy))
            await setup.ExecuteNonQueryAsync();
        await using var transaction = await busy.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand("INSERT INTO shutdown_probe VALUES (1)", busy, transaction))
            await insert.ExecuteNonQueryAsync();

        await ProcessRunner.RunAsync("kill", ["-TERM", pooler.Process.Id.ToString()]);
        await pooler.Process.WaitForLineAsync("shutdown requested");

        // A new client is turned away: refused, or told that the node is shutting down.
        try
        {
            var (late, _) = await WireClient.LoginAsync(pooler.Host, pooler.Port, TestUsers.Scram.Name,
                TestUsers.Scram.Password, TestUsers.Database);
            await late.DisposeAsync();
            Assert.Fail("a client logged in to a node that is shutting down");
        }
        catch (ServerErrorException e)
        {
            Assert.Equal("57P01", e.Error.SqlState);
        }
        catch (SocketException)
        {
        }
        // The transaction in flight finishes.
        try
        {
            await using (var more = new NpgsqlCommand("INSERT INTO shutdown_probe VALUES (2)", busy, transaction))
                await more.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        }
        catch (NpgsqlException e)
        {
            throw new Xunit.Sdk.XunitException($"transaction cut by shutdown: {e.Message}\n{pooler.Process.Output}");
        }

        Assert.Equal(0, await pooler.Process.Exited.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("2", await postgres.Server.PsqlAsync("SELECT count(*) FROM shutdown_probe", TestUsers.Database));
        await using var after = new NpgsqlCommand("SELECT 1", idle);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => after.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Client_idle_in_transaction_too_long_is_disconnected_and_its_work_rolled_back()
    {
        await using var pooler = await PoolerNode.StartAsync(postgres.Server, "transaction", poolSize: 2,
            general: "idle_client_in_transaction_timeout = 500");
        await using var connection = await pooler.OpenAsync();
        await using (var setup = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS idle_probe (id int)", connection))
            await setup.ExecuteNonQueryAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand("INSERT INTO idle_probe VALUES (1)", connection, transaction))
            await insert.ExecuteNonQueryAsync();

        await pooler.Process.WaitForLineAsync("idle in transaction for 500 ms");

        await using var next = new NpgsqlCommand("SELECT 1", connection, transaction);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => next.ExecuteScalarAsync());
        Assert.Equal("0", await postgres.Server.PsqlAsync("SELECT count(*) FROM idle_probe", TestUsers.Database));
    }
}
