namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>
/// What an operator does to a running test PostgreSQL: stop it, start it again on the same data
/// directory and port, and look at its sessions. Runs pg_ctl as the server's OS user, as
/// <see cref="PostgresServer"/> does.
/// </summary>
public static class PostgresControl
{
    private const string DefaultBinDir = "/usr/lib/postgresql/15/bin";

    private static string BinDir => Environment.GetEnvironmentVariable("POOLER_PG_BIN") ?? DefaultBinDir;

    private static string? RunAs => Environment.IsPrivilegedProcess
        ? Environment.GetEnvironmentVariable("POOLER_PG_OS_USER") ?? "postgres"
        : null;

    /// <summary><c>pg_ctl stop -m fast</c>: sessions are terminated, the server is gone when this returns.</summary>
    public static Task StopFastAsync(this PostgresServer server) =>
        PgCtlAsync(server, ["stop", "-w", "-t", "60", "-m", "fast", "-D", server.DataDirectory]);

    /// <summary><c>pg_ctl start</c> on the same data directory (and so the same port); returns once it accepts connections.</summary>
    public static Task StartAgainAsync(this PostgresServer server) =>
        PgCtlAsync(server, ["start", "-w", "-t", "60", "-D", server.DataDirectory, "-l", server.LogFile]);

    /// <summary>Server connections of the test database that sit inside a transaction doing nothing.</summary>
    public static async Task<int> IdleInTransactionAsync(this PostgresServer server) =>
        int.Parse(await server.PsqlAsync(
            "SELECT count(*) FROM pg_stat_activity " +
            $"WHERE datname = '{TestUsers.Database}' AND state LIKE 'idle in transaction%'"));

    /// <summary>Kills one backend the way an operator would, with pg_terminate_backend.</summary>
    public static async Task TerminateBackendAsync(this PostgresServer server, int pid)
    {
        var answer = await server.PsqlAsync($"SELECT pg_terminate_backend({pid})");
        if (answer != "t")
            throw new InvalidOperationException($"pg_terminate_backend({pid}) answered '{answer}'");
    }

    private static async Task PgCtlAsync(PostgresServer server, string[] arguments)
    {
        var pgCtl = Path.Combine(BinDir, "pg_ctl");
        var result = RunAs is null
            ? await ProcessRunner.RunAsync(pgCtl, arguments)
            : await ProcessRunner.RunAsync("runuser", ["-u", RunAs, "--", pgCtl, .. arguments]);
        if (result.ExitCode != 0)
            throw new InvalidOperationException(
                $"pg_ctl {arguments[0]} failed with exit code {result.ExitCode}: {result.Output}\n{server.ReadLog()}");
    }
}
