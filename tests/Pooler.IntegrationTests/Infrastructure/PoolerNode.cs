using Npgsql;

namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>
/// A real pooler process in front of a test PostgreSQL, serving pool <see cref="TestUsers.Database"/>
/// to the three test roles: the scram role logs in to Pooler with SCRAM, the md5 role with MD5,
/// the cleartext role with a cleartext password (each as PostgreSQL makes it log in to the server).
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

    public static async Task<PoolerNode> StartAsync(PostgresServer server, string poolMode = "transaction",
        int poolSize = 5, string general = "", string userExtra = "")
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

            [pools.{TestUsers.Database}]
            pool_mode = "{poolMode}"

            [pools.{TestUsers.Database}.shards.0]
            servers = [["{server.Host}", {server.Port}, "primary"]]
            database = "{TestUsers.Database}"

            [pools.{TestUsers.Database}.users.0]
            username = "{TestUsers.Scram.Name}"
            password = "{TestUsers.Scram.Password}"
            pool_size = {poolSize}
            {userExtra}

            [pools.{TestUsers.Database}.users.1]
            username = "{TestUsers.Md5.Name}"
            password = "{TestUsers.Md5.Password}"
            auth_type = "md5"
            pool_size = {poolSize}

            [pools.{TestUsers.Database}.users.2]
            username = "{TestUsers.Cleartext.Name}"
            password = "{TestUsers.Cleartext.Password}"
            auth_type = "plain"
            pool_size = {poolSize}
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
    public string ConnectionString(TestUser? user = null, string database = TestUsers.Database, string extra = "")
    {
        user ??= TestUsers.Scram;
        return $"Host={Host};Port={Port};Username={user.Name};Password={user.Password};Database={database};" +
               $"Pooling=false;Timeout=30;Command Timeout=60;{extra}";
    }

    public async Task<NpgsqlConnection> OpenAsync(TestUser? user = null, string extra = "")
    {
        var connection = new NpgsqlConnection(ConnectionString(user, extra: extra));
        await connection.OpenAsync();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        _config.Dispose();
    }
}
