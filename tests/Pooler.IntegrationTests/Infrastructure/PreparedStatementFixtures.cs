using Xunit;

namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>
/// Where <see cref="PreparedStatementClientTests"/> and its variants send their clients: a throwaway
/// PostgreSQL, with (unless <see cref="PoolMode"/> is null) two poolers in front of it, pool_size
/// <see cref="PoolSize"/> for the client libraries and <see cref="PgbenchPoolSize"/> for pgbench.
/// With no pool mode the clients talk to PostgreSQL itself: that proves the client scripts right.
/// </summary>
public abstract class PreparedStatementFixture : IAsyncLifetime
{
    private PostgresServer? _server;
    private PoolerNode? _pooler;
    private PoolerNode? _pgbenchPooler;

    /// <summary>transaction, session, or null for PostgreSQL directly.</summary>
    public abstract string? PoolMode { get; }
    public int PoolSize => 3;
    public int PgbenchPoolSize => 5;

    public PostgresServer Server => _server ?? throw new InvalidOperationException("not started");

    /// <summary>The pooler in front of the client libraries (pool_size <see cref="PoolSize"/>), or null.</summary>
    public PoolerNode? Pooler => _pooler;

    /// <summary>The pooler pgbench runs through (pool_size <see cref="PgbenchPoolSize"/>), or null.</summary>
    public PoolerNode? PgbenchPooler => _pgbenchPooler;

    public string Host => _pooler?.Host ?? Server.Host;
    public int Port => _pooler?.Port ?? Server.Port;
    public string PgbenchHost => _pgbenchPooler?.Host ?? Server.Host;
    public int PgbenchPort => _pgbenchPooler?.Port ?? Server.Port;

    /// <summary>What the tests were talking to, for test output and assertion messages.</summary>
    public string Target => PoolMode is null ? "PostgreSQL directly" : $"Pooler in {PoolMode} mode";

    /// <summary>The poolers' logs (or a note that there is none), for assertion messages.</summary>
    public string PoolerLog(bool pgbench = false) =>
        (pgbench ? _pgbenchPooler : _pooler)?.Process.Output ?? "(no pooler: the clients talked to PostgreSQL directly)";

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.StartAsync();
        if (PoolMode is null)
            return;
        var pooler = PoolerNode.StartAsync(_server, PoolMode, PoolSize);
        var pgbenchPooler = PoolerNode.StartAsync(_server, PoolMode, PgbenchPoolSize);
        try
        {
            await Task.WhenAll(pooler, pgbenchPooler);
        }
        finally
        {
            // Keep whatever started, so that DisposeAsync stops it even if the other failed.
            _pooler = pooler.IsCompletedSuccessfully ? pooler.Result : null;
            _pgbenchPooler = pgbenchPooler.IsCompletedSuccessfully ? pgbenchPooler.Result : null;
        }
    }

    public async Task DisposeAsync()
    {
        if (_pooler is not null)
            await _pooler.DisposeAsync();
        if (_pgbenchPooler is not null)
            await _pgbenchPooler.DisposeAsync();
        if (_server is not null)
            await _server.DisposeAsync();
    }
}

public sealed class TransactionPreparedStatementFixture : PreparedStatementFixture
{
    public override string? PoolMode => "transaction";
}

public sealed class SessionPreparedStatementFixture : PreparedStatementFixture
{
    public override string? PoolMode => "session";
}

public sealed class DirectPreparedStatementFixture : PreparedStatementFixture
{
    public override string? PoolMode => null;
}
