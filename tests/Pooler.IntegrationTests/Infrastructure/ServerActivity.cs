using Npgsql;

namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>
/// A superuser's view of pg_stat_activity on a test server, over the Unix socket (trust), so
/// that watching the server adds no TCP connection for the roles the pooler uses.
/// </summary>
public sealed class ServerActivity : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private ServerActivity(NpgsqlConnection connection) => _connection = connection;

    public static async Task<ServerActivity> OpenAsync(PostgresServer server)
    {
        var connection = new NpgsqlConnection(
            $"Host={server.SocketDirectory};Port={server.Port};Username={PostgresServer.SuperUser};" +
            "Database=postgres;Pooling=false");
        await connection.OpenAsync();
        return new ServerActivity(connection);
    }

    /// <summary>Backends of <paramref name="role"/> connected to the test database.</summary>
    public Task<long> ConnectionsAsync(string role) =>
        ScalarAsync("SELECT count(*) FROM pg_stat_activity WHERE usename = @role AND datname = @db",
            ("role", role), ("db", TestUsers.Database));

    /// <summary>Backends that are running a statement whose text contains <paramref name="fragment"/>.</summary>
    public Task<long> ActiveQueriesAsync(string fragment) =>
        ScalarAsync("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND datname = @db " +
                    "AND pid <> pg_backend_pid() AND strpos(query, @fragment) > 0",
            ("db", TestUsers.Database), ("fragment", fragment));

    private async Task<long> ScalarAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await _gate.WaitAsync();
        try
        {
            await using var command = new NpgsqlCommand(sql, _connection);
            foreach (var (name, value) in parameters)
                command.Parameters.AddWithValue(name, value);
            return (long)(await command.ExecuteScalarAsync())!;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync();
        _gate.Dispose();
    }
}
