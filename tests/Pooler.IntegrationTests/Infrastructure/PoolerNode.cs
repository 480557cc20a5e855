using Npgsql;

namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>
/// A real pooler process in front of a test PostgreSQL, serving pool <see cref="TestUsers.Database"/>
/// to the three test roles (see <see cref="TestPoolToml"/>): a cluster of one. Several nodes: <see cref="PoolerCluster"/>.
/// </summary>
public sealed class PoolerNode : IAsyncDisposable
{
    private readonly TestConfig _config;

    private PoolerNode(TestConfig config, PoolerProcess process, string configPath)
    {
        _config = config;
        Process = process;
        ConfigPath = configPath;
    }

    public PoolerProcess Process { get; }
    public string ConfigPath { get; }
    public string Host => "127.0.0.1";
    public int Port => _config.ClientPort;

    /// <summary>The HTTP port (dashboard, /api/cluster, /metrics) when started with one.</summary>
    public int HttpPort => _config.HttpPort;

    public static Task<PoolerNode> StartAsync(PostgresServer server, string poolMode = "transaction",
        int poolSize = 5, string general = "", string userExtra = "") =>
        StartWithPoolsAsync(TestPoolToml.For(server, poolMode, poolSize, userExtra), general);

    /// <summary>A pooler serving the <c>[pools...]</c> tables given (replicas, shards: whatever a test needs).</summary>
    public static async Task<PoolerNode> StartWithPoolsAsync(string pools, string general = "", bool http = false)
    {
        var config = new TestConfig();
        var path = config.WriteText($"""
            [general]
            host = "127.0.0.1"
            port = {config.ClientPort}
            admin_username = "admin"
            admin_password = "admin-secret-pw"
            {general}

            [cluster]
            host = "127.0.0.1"
            port = {config.ClusterPort}

            [http]
            host = "127.0.0.1"
            port = {(http ? config.HttpPort : 0)}

            {pools}
            """);
        var process = PoolerProcess.Start("--config", path);
        try
        {
            await process.WaitForLineAsync("ready: accepting clients");
            return new PoolerNode(config, process, path);
        }
        catch
        {
            await process.DisposeAsync();
            config.Dispose();
            throw;
        }
    }

    /// <summary>An Npgsql connection string through Pooler (Npgsql's own pooling off: we are the pool).</summary>
    public string ConnectionString(TestUser? user = null, string database = TestUsers.Database, string extra = "") =>
        TestUsers.ConnectionString(Host, Port, user, database, extra);

    public Task<NpgsqlConnection> OpenAsync(TestUser? user = null, string extra = "") =>
        TestUsers.OpenAsync(Host, Port, user, extra);

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        _config.Dispose();
    }
}
