using Xunit;

namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL with one pooler process in front of it, shared by the tests of one class.
/// Each class gets its own server so that counting server connections in pg_stat_activity sees
/// only that class's pooler.
/// </summary>
public abstract class PoolerFixture : IAsyncLifetime
{
    private PostgresServer? _server;
    private PoolerNode? _pooler;

    protected abstract string PoolMode { get; }
    protected virtual int PoolSize => 5;
    protected virtual string General => "";

    public PostgresServer Server => _server ?? throw new InvalidOperationException("not started");
    public PoolerNode Pooler => _pooler ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.StartAsync();
        _pooler = await PoolerNode.StartAsync(_server, PoolMode, PoolSize, General);
    }

    public async Task DisposeAsync()
    {
        if (_pooler is not null)
            await _pooler.DisposeAsync();
        if (_server is not null)
            await _server.DisposeAsync();
    }

    /// <summary>Server connections PostgreSQL sees for a role in the test database.</summary>
    public async Task<int> ServerConnectionsAsync(string role = "pooler_scram") =>
        int.Parse(await Server.PsqlAsync(
            $"SELECT count(*) FROM pg_stat_activity WHERE usename = '{role}' AND datname = '{TestUsers.Database}'"));
}

public sealed class TransactionPoolFixture : PoolerFixture
{
    protected override string PoolMode => "transaction";
    protected override int PoolSize => 2;
}

public sealed class SessionPoolFixture : PoolerFixture
{
    protected override string PoolMode => "session";
    protected override int PoolSize => 3;
}
