using System.Text;

namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL server: initdb into a temp directory, pg_ctl start on a free loopback
/// port, stop and delete on dispose. PostgreSQL refuses to run as root, and our machines run
/// as root, so every server-side command runs as an unprivileged OS user (postgres by default).
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string DefaultBinDir = "/usr/lib/postgresql/15/bin";

    private readonly string _binDir;
    private readonly string? _runAs;

    private PostgresServer(string binDir, string? runAs, string baseDir, int port)
    {
        _binDir = binDir;
        _runAs = runAs;
        BaseDirectory = baseDir;
        Port = port;
    }

    public string Host => "127.0.0.1";
    public int Port { get; }
    public string BaseDirectory { get; }
    public string DataDirectory => Path.Combine(BaseDirectory, "data");
    public string SocketDirectory => BaseDirectory;
    public string LogFile => Path.Combine(BaseDirectory, "postgres.log");
    public const string SuperUser = "postgres";

    /// <summary>Starts a server with the roles of <see cref="TestUsers"/> and the test database.</summary>
    public static async Task<PostgresServer> StartAsync()
    {
        var binDir = Environment.GetEnvironmentVariable("POOLER_PG_BIN") ?? DefaultBinDir;
        if (!File.Exists(Path.Combine(binDir, "initdb")))
            throw new InvalidOperationException(
                $"PostgreSQL's initdb was not found in {binDir}. Install postgresql-15 (./pooler.sh test does) " +
                "or point POOLER_PG_BIN at the directory holding initdb and pg_ctl.");

        var runAs = Environment.IsPrivilegedProcess
            ? Environment.GetEnvironmentVariable("POOLER_PG_OS_USER") ?? "postgres"
            : null;
        var baseDir = Path.Combine(Path.GetTempPath(), "pooler-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(baseDir);
        var server = new PostgresServer(binDir, runAs, baseDir, FreePort.Next());
        try
        {
            await server.InitAsync();
            await server.StartServerAsync();
            await server.CreateTestRolesAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A streaming replica of this server (pg_basebackup -R: standby.signal and primary_conninfo),
    /// on its own port, once it runs in recovery. Its roles and databases are the primary's.
    /// </summary>
    public async Task<PostgresServer> StartReplicaAsync()
    {
        var baseDir = Path.Combine(Path.GetTempPath(), "pooler-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(baseDir);
        var replica = new PostgresServer(_binDir, _runAs, baseDir, FreePort.Next());
        try
        {
            if (_runAs is not null)
                await replica.RunCheckedAsync("chown", [_runAs, baseDir], asServerUser: false);
            await replica.RunCheckedAsync(Path.Combine(_binDir, "pg_basebackup"),
                ["-h", SocketDirectory, "-p", Port.ToString(), "-U", SuperUser, "-D", replica.DataDirectory, "-R",
                 "-X", "stream", "--no-sync", "-c", "fast"]);
            // The copied postgresql.conf names the primary's port and socket; later lines win.
            await File.AppendAllTextAsync(Path.Combine(replica.DataDirectory, "postgresql.conf"), $"""

                port = {replica.Port}
                unix_socket_directories = '{replica.SocketDirectory}'
                hot_standby = on

                """);
            await replica.StartServerAsync();
            if (await replica.PsqlAsync("SELECT pg_is_in_recovery()") != "t")
                throw new InvalidOperationException("the replica is not in recovery");
            return replica;
        }
        catch
        {
            await replica.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until the replica has replayed everything the primary has written so far.</summary>
    public async Task WaitForReplicaAsync(PostgresServer replica)
    {
        var target = await PsqlAsync("SELECT pg_current_wal_lsn()");
        for (var i = 0; i < 300; i++)
        {
            if (await replica.PsqlAsync($"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") == "t")
                return;
            await Task.Delay(50);
        }
        throw new TimeoutException($"the replica did not replay up to {target} within 15 s");
    }

    /// <summary>Runs SQL as the superuser through psql on the Unix socket and returns psql's output.</summary>
    public async Task<string> PsqlAsync(string sql, string database = "postgres")
    {
        var result = await RunAsync(Path.Combine(_binDir, "psql"),
            ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", SocketDirectory, "-p", Port.ToString(),
             "-U", SuperUser, "-d", database, "-c", sql]);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"psql failed ({result.ExitCode}): {result.Output}");
        return result.StdOut.Trim();
    }

    /// <summary>An Npgsql connection string for a TCP login to this server.</summary>
    public string ConnectionString(TestUser user, string database = TestUsers.Database) =>
        $"Host={Host};Port={Port};Username={user.Name};Password={user.Password};Database={database};Pooling=false";

    private async Task InitAsync()
    {
        if (_runAs is not null)
            await RunCheckedAsync("chown", [_runAs, BaseDirectory], asServerUser: false);
        var passwordFile = Path.Combine(BaseDirectory, "superuser.pw");
        await File.WriteAllTextAsync(passwordFile, "postgres-superuser\n");
        if (_runAs is not null)
            await RunCheckedAsync("chown", [_runAs, passwordFile], asServerUser: false);

        await RunCheckedAsync(Path.Combine(_binDir, "initdb"),
            ["-D", DataDirectory, "-U", SuperUser, "--pwfile", passwordFile, "-E", "UTF8", "--no-locale",
             "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"]);

        // Each test role logs in over TCP with its own method, so the client side of every
        // authentication exchange is exercised against the real server.
        var hba = new StringBuilder("local all all trust\nlocal replication all trust\n");
        foreach (var user in TestUsers.All)
            hba.Append($"host all {user.Name} 127.0.0.1/32 {user.AuthMethod}\n");
        hba.Append("host all all 127.0.0.1/32 scram-sha-256\n");
        await File.WriteAllTextAsync(Path.Combine(DataDirectory, "pg_hba.conf"), hba.ToString());

        // Durability is worthless for a throwaway server; these settings make tests fast.
        await File.AppendAllTextAsync(Path.Combine(DataDirectory, "postgresql.conf"), $"""

            port = {Port}
            listen_addresses = '127.0.0.1'
            unix_socket_directories = '{SocketDirectory}'
            max_connections = 300
            fsync = off
            synchronous_commit = off
            full_page_writes = off
            log_connections = on
            log_disconnections = on

            """);
    }

    private Task StartServerAsync() =>
        RunCheckedAsync(Path.Combine(_binDir, "pg_ctl"),
            ["start", "-w", "-t", "60", "-D", DataDirectory, "-l", LogFile]);

    private async Task CreateTestRolesAsync()
    {
        var sql = new StringBuilder();
        foreach (var user in TestUsers.All)
        {
            // The stored verifier decides what md5 in pg_hba.conf can do: an md5 role needs an
            // md5 hash on disk, otherwise the server falls back to SCRAM.
            var encryption = user.AuthMethod == "md5" ? "md5" : "scram-sha-256";
            sql.Append($"SET password_encryption = '{encryption}'; ");
            sql.Append($"CREATE ROLE {user.Name} LOGIN PASSWORD '{user.Password}'; ");
        }
        await PsqlAsync(sql.ToString());
        await PsqlAsync($"CREATE DATABASE {TestUsers.Database} OWNER {TestUsers.Scram.Name}");
        await PsqlAsync($"GRANT ALL ON SCHEMA public TO PUBLIC", TestUsers.Database);
    }

    public async ValueTask DisposeAsync()
    {
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            try
            {
                await RunAsync(Path.Combine(_binDir, "pg_ctl"), ["stop", "-w", "-m", "fast", "-D", DataDirectory]);
            }
            catch (Exception)
            {
                // Best effort: the directory is removed below either way.
            }
        }
        try
        {
            Directory.Delete(BaseDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The server's log, for assertion messages when something went wrong.</summary>
    public string ReadLog() => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(no log)";

    private async Task RunCheckedAsync(string fileName, string[] arguments, bool asServerUser = true)
    {
        var result = asServerUser
            ? await RunAsync(fileName, arguments)
            : await ProcessRunner.RunAsync(fileName, arguments);
        if (result.ExitCode != 0)
            throw new InvalidOperationException(
                $"{Path.GetFileName(fileName)} failed with exit code {result.ExitCode}: {result.Output}\n{ReadLog()}");
    }

    private Task<ProcessResult> RunAsync(string fileName, string[] arguments)
    {
        if (_runAs is null)
            return ProcessRunner.RunAsync(fileName, arguments);
        // runuser keeps the environment minimal and needs no password, unlike su/sudo.
        return ProcessRunner.RunAsync("runuser", ["-u", _runAs, "--", fileName, .. arguments]);
    }
}
