using Npgsql;

namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>The admin console of a pooler (database <c>pgbouncer</c>, the admin user every test config sets), through Npgsql.</summary>
public static class AdminConsole
{
    public const string User = "admin";
    public const string Password = "admin-secret-pw";

    /// <summary>Opens a console connection (Npgsql must not load types: the console runs no SQL).</summary>
    public static async Task<NpgsqlConnection> OpenAsync(string host, int port)
    {
        var connection = new NpgsqlConnection(
            $"Host={host};Port={port};Username={User};Password={Password};Database=pgbouncer;" +
            "Pooling=false;Timeout=30;Command Timeout=60;Server Compatibility Mode=NoTypeLoading");
        await connection.OpenAsync();
        return connection;
    }

    public sealed record Result(IReadOnlyList<string> Columns, IReadOnlyList<Dictionary<string, string?>> Rows);

    /// <summary>Runs one console command; every value as text (null for NULL).</summary>
    public static async Task<Result> QueryAsync(NpgsqlConnection connection, string command)
    {
        await using var sql = new NpgsqlCommand(command, connection);
        await using var reader = await sql.ExecuteReaderAsync();
        var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
        var rows = new List<Dictionary<string, string?>>();
        while (await reader.ReadAsync())
            rows.Add(columns.Select((c, i) => (c, v: reader.IsDBNull(i) ? null : Convert.ToString(reader.GetValue(i),
                System.Globalization.CultureInfo.InvariantCulture))).ToDictionary(x => x.c, x => x.v));
        return new Result(columns, rows);
    }
}
