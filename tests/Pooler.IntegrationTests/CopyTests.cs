using Npgsql;
using NpgsqlTypes;
using Pooler.IntegrationTests.Infrastructure;
using Xunit;

namespace Pooler.IntegrationTests;

/// <summary>COPY FROM STDIN and COPY TO STDOUT through a pooler in transaction mode, with Npgsql.</summary>
public sealed class CopyTests(TransactionPoolFixture fixture) : IClassFixture<TransactionPoolFixture>
{
    private const int Rows = 10_000;
    private readonly PoolerNode _pooler = fixture.Pooler;

    [Fact]
    public async Task Text_import_of_ten_thousand_rows_lands_every_row()
    {
        await using var connection = await _pooler.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE copy_text_in (id int PRIMARY KEY, name text NOT NULL)");

        await using (var writer = await connection.BeginTextImportAsync("COPY copy_text_in (id, name) FROM STDIN"))
        {
            for (var i = 1; i <= Rows; i++)
                await writer.WriteAsync($"{i}\tname {i}\n");
        }

        Assert.Equal((long)Rows, await ScalarAsync<long>(connection, "SELECT count(*) FROM copy_text_in"));
        Assert.Equal((long)Rows * (Rows + 1) / 2, await ScalarAsync<long>(connection, "SELECT sum(id) FROM copy_text_in"));
        Assert.Equal("name 4321", await ScalarAsync<string>(connection, "SELECT name FROM copy_text_in WHERE id = 4321"));
    }

    [Fact]
    public async Task Binary_import_of_ten_thousand_rows_lands_every_row()
    {
        await using var connection = await _pooler.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE copy_binary_in (id int PRIMARY KEY, name text NOT NULL, amount double precision)");

        ulong imported;
        await using (var importer = await connection.BeginBinaryImportAsync(
                         "COPY copy_binary_in (id, name, amount) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 1; i <= Rows; i++)
            {
                await importer.StartRowAsync();
                await importer.WriteAsync(i, NpgsqlDbType.Integer);
                await importer.WriteAsync($"binary {i}", NpgsqlDbType.Text);
                await importer.WriteAsync(i / 4.0, NpgsqlDbType.Double);
            }
            imported = await importer.CompleteAsync();
        }

        Assert.Equal((ulong)Rows, imported);
        Assert.Equal((long)Rows, await ScalarAsync<long>(connection, "SELECT count(*) FROM copy_binary_in"));
        Assert.Equal("binary 9999", await ScalarAsync<string>(connection, "SELECT name FROM copy_binary_in WHERE id = 9999"));
        Assert.Equal(2.25, await ScalarAsync<double>(connection, "SELECT amount FROM copy_binary_in WHERE id = 9"));
    }

    [Fact]
    public async Task Text_export_reads_back_every_row_in_order()
    {
        await using var connection = await _pooler.OpenAsync();
        await ExecuteAsync(connection,
            "CREATE TABLE copy_text_out AS SELECT i AS id, 'row ' || i AS name FROM generate_series(1, 10000) AS i");

        var lines = new List<string>();
        using (var reader = await connection.BeginTextExportAsync("COPY (SELECT id, name FROM copy_text_out ORDER BY id) TO STDOUT"))
        {
            while (await reader.ReadLineAsync() is { } line)
                lines.Add(line);
        }

        Assert.Equal(Rows, lines.Count);
        for (var i = 0; i < Rows; i++)
            Assert.Equal($"{i + 1}\trow {i + 1}", lines[i]);
        // The connection went back to normal queries after CopyDone.
        Assert.Equal(1, await ScalarAsync<int>(connection, "SELECT 1"));
    }

    [Fact]
    public async Task Binary_export_reads_back_every_row()
    {
        await using var connection = await _pooler.OpenAsync();

        var sum = 0L;
        var count = 0;
        await using (var exporter = await connection.BeginBinaryExportAsync(
                         "COPY (SELECT i::bigint FROM generate_series(1, 10000) AS i) TO STDOUT (FORMAT BINARY)"))
        {
            while (await exporter.StartRowAsync() != -1)
            {
                sum += await exporter.ReadAsync<long>();
                count++;
            }
        }

        Assert.Equal(Rows, count);
        Assert.Equal((long)Rows * (Rows + 1) / 2, sum);
    }

    [Fact]
    public async Task A_copy_with_bad_data_fails_with_the_postgres_error_and_the_connection_goes_on()
    {
        await using var connection = await _pooler.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE copy_bad_in (id int, name text)");

        var error = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var writer = await connection.BeginTextImportAsync("COPY copy_bad_in (id, name) FROM STDIN");
            for (var i = 1; i <= 100; i++)
                await writer.WriteAsync($"{i}\tfine\n");
            await writer.WriteAsync("not-a-number\tbad\n");
            for (var i = 102; i <= 200; i++)
                await writer.WriteAsync($"{i}\tfine\n");
        });

        Assert.Equal("22P02", error.SqlState);
        Assert.Contains("not-a-number", error.MessageText);
        Assert.Contains("COPY copy_bad_in", error.Where);
        Assert.Equal(System.Data.ConnectionState.Open, connection.State);
        Assert.Equal(0L, await ScalarAsync<long>(connection, "SELECT count(*) FROM copy_bad_in"));

        // And a good COPY on the same connection afterwards works.
        await using (var writer = await connection.BeginTextImportAsync("COPY copy_bad_in (id, name) FROM STDIN"))
            await writer.WriteAsync("1\tgood\n");
        Assert.Equal(1L, await ScalarAsync<long>(connection, "SELECT count(*) FROM copy_bad_in"));
    }

    [Fact]
    public async Task A_copy_the_client_cancels_rolls_back_and_the_connection_goes_on()
    {
        await using var connection = await _pooler.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE copy_abandoned_in (id int)");

        await using (var importer = await connection.BeginBinaryImportAsync("COPY copy_abandoned_in (id) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < 1000; i++)
            {
                await importer.StartRowAsync();
                await importer.WriteAsync(i, NpgsqlDbType.Integer);
            }
            // Disposing without Complete sends CopyFail: PostgreSQL rolls the COPY back.
        }

        Assert.Equal(0L, await ScalarAsync<long>(connection, "SELECT count(*) FROM copy_abandoned_in"));
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
