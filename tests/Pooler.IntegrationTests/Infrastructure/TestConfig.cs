namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>Writes pooler TOML files for tests, each node on its own free ports.</summary>
public sealed class TestConfig : IDisposable
{
    private readonly string _directory =
        Directory.CreateTempSubdirectory("pooler-config-").FullName;

    public int ClientPort { get; } = FreePort.Next();
    public int ClusterPort { get; } = FreePort.Next();
    public int HttpPort { get; } = FreePort.Next();

    /// <summary>A one-pool config in front of <paramref name="server"/> (or a dummy address).</summary>
    public string Write(PostgresServer? server = null, string poolMode = "transaction", int poolSize = 2, string extra = "",
        int? serverPort = null, string general = "")
    {
        var host = server?.Host ?? "127.0.0.1";
        // Without a server, point at a port nobody listens on: PostgreSQL is "down".
        var port = serverPort ?? server?.Port ?? FreePort.Next();
        return WriteText($"""
            [general]
            host = "127.0.0.1"
            port = {ClientPort}
            admin_username = "admin"
            admin_password = "admin-secret-pw"
            {general}

            [cluster]
            host = "127.0.0.1"
            port = {ClusterPort}

            [http]
            port = 0

            [pools.{TestUsers.Database}]
            pool_mode = "{poolMode}"

            [pools.{TestUsers.Database}.shards.0]
            servers = [["{host}", {port}, "primary"]]
            database = "{TestUsers.Database}"

            [pools.{TestUsers.Database}.users.0]
            username = "{TestUsers.Scram.Name}"
            password = "{TestUsers.Scram.Password}"
            pool_size = {poolSize}
            {extra}
            """);
    }

    public string WriteText(string toml, string fileName = "pooler.toml")
    {
        var path = Path.Combine(_directory, fileName);
        File.WriteAllText(path, toml);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
