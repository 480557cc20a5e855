using Pooler.IntegrationTests.Infrastructure;
using Xunit;

namespace Pooler.IntegrationTests;

/// <summary>psql through a pooler in transaction mode, the way an operator runs a script.</summary>
public sealed class PsqlTests(TransactionPoolFixture fixture) : IClassFixture<TransactionPoolFixture>, IDisposable
{
    private readonly PoolerNode _pooler = fixture.Pooler;
    private readonly string _directory = Directory.CreateTempSubdirectory("pooler-psql-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Psql_runs_a_script_with_copy_and_a_transaction_through_the_pooler()
    {
        var csv = Path.Combine(_directory, "items.csv");
        await File.WriteAllLinesAsync(csv, Enumerable.Range(10, 50).Select(i => $"{i},item {i}"));
        var script = Path.Combine(_directory, "script.sql");
        await File.WriteAllTextAsync(script, $"""
            CREATE TABLE psql_items (id int PRIMARY KEY, name text NOT NULL);
            INSERT INTO psql_items VALUES (1, 'one'), (2, 'two');
            \copy psql_items FROM '{csv}' WITH (FORMAT csv)
            BEGIN;
            CREATE TEMP TABLE psql_renames (id int, name text) ON COMMIT DROP;
            INSERT INTO psql_renames VALUES (1, 'ONE'), (2, 'TWO');
            UPDATE psql_items SET name = r.name FROM psql_renames r WHERE psql_items.id = r.id;
            INSERT INTO psql_items VALUES (100, 'hundred');
            COMMIT;
            SELECT count(*) FROM psql_items;
            SELECT id, name FROM psql_items WHERE id IN (1, 2, 10, 59, 100) ORDER BY id;

            """);

        var result = await PsqlAsync("-v", "ON_ERROR_STOP=1", "-f", script);

        Assert.True(result.ExitCode == 0, $"psql exited with {result.ExitCode}:\n{result.Output}\npooler log:\n{_pooler.Process.Output}");
        Assert.Equal(
            [
                "CREATE TABLE",
                "INSERT 0 2",
                "COPY 50",
                "BEGIN",
                "CREATE TABLE",
                "INSERT 0 2",
                "UPDATE 2",
                "INSERT 0 1",
                "COMMIT",
                "53",
                "1|ONE",
                "2|TWO",
                "10|item 10",
                "59|item 59",
                "100|hundred",
            ],
            Lines(result.StdOut));
        Assert.Equal("", result.StdErr.Trim());
    }

    [Fact]
    public async Task Psql_reports_a_syntax_error_with_postgres_text_and_exit_code_1()
    {
        var result = await PsqlAsync("-c", "SELEC 1");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("ERROR:  syntax error at or near \"SELEC\"", result.StdErr);
        Assert.Contains("LINE 1: SELEC 1", result.StdErr);
    }

    private Task<ProcessResult> PsqlAsync(params string[] arguments) =>
        ProcessRunner.RunAsync(PsqlBinary(),
            ["-X", "-A", "-t", "-h", _pooler.Host, "-p", _pooler.Port.ToString(), "-U", TestUsers.Scram.Name,
             "-d", TestUsers.Database, .. arguments],
            environment: new Dictionary<string, string> { ["PGPASSWORD"] = TestUsers.Scram.Password, ["PGCONNECT_TIMEOUT"] = "10" },
            timeout: TimeSpan.FromSeconds(60));

    private static string PsqlBinary() =>
        File.Exists("/usr/lib/postgresql/15/bin/psql") ? "/usr/lib/postgresql/15/bin/psql" : "/usr/bin/psql";

    private static string[] Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
