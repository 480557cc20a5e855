using System.Buffers.Binary;
using System.Text;
using Pooler.Core.Admin;
using Pooler.Protocol;
using Xunit;

namespace Pooler.Core.Tests.Admin;

/// <summary>
/// The console over the extended query protocol, as Npgsql drives it: Parse, Bind (often asking
/// for binary results), Describe, Execute, Sync.
/// </summary>
public sealed class ExtendedProtocolTests
{
    private static readonly FormatCode[] AllBinary = [FormatCode.Binary];

    [Fact]
    public async Task Parse_bind_describe_execute_sync_of_show_pools_returns_the_rows_in_text()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var messages = await RunAsync(client, "SHOW POOLS", []);

        Assert.Equal("12TDDCZ", Wire.Types(messages));
        var table = Wire.Table(messages);
        Assert.All(table.Description.Fields, f => Assert.Equal(FormatCode.Text, f.Format));
        Assert.Equal("app", table.Rows[0].GetText(0));
        Assert.Equal("3", table.Rows[0].GetText(table.Column("cl_active")));
        Assert.Equal("transaction", table.Rows[0].GetText(table.Column("pool_mode")));
    }

    [Fact]
    public async Task Binary_results_encode_int4_as_four_big_endian_bytes_and_text_as_utf8()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var messages = await RunAsync(client, "SHOW POOLS", AllBinary);

        var table = Wire.Table(messages);
        Assert.All(table.Description.Fields, f => Assert.Equal(FormatCode.Binary, f.Format));
        var row = table.Rows[0];
        Assert.Equal("app"u8.ToArray(), row.Values[table.Column("database")]);
        Assert.Equal([0, 0, 0, 3], row.Values[table.Column("cl_active")]);
        Assert.Equal(500_001, BinaryPrimitives.ReadInt32BigEndian(row.Values[table.Column("maxwait_us")]));
        Assert.Equal("transaction"u8.ToArray(), row.Values[table.Column("pool_mode")]);
    }

    [Fact]
    public async Task Binary_numeric_columns_use_postgresqls_numeric_format()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var table = Wire.Table(await RunAsync(client, "SHOW STATS_TOTALS", AllBinary));

        var row = table.Rows.Single();
        Assert.Equal(1050, DecodeNumeric(row.Values[table.Column("bytes_received")]!));
        Assert.Equal(2060, DecodeNumeric(row.Values[table.Column("bytes_sent")]!));
        Assert.Equal(15, DecodeNumeric(row.Values[table.Column("xact_count")]!));
    }

    [Fact]
    public async Task Result_formats_can_differ_per_column()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var table = Wire.Table(await RunAsync(client, "SHOW LISTS", [FormatCode.Text, FormatCode.Binary]));

        Assert.Equal([FormatCode.Text, FormatCode.Binary], table.Description.Fields.Select(f => f.Format));
        Assert.Equal("databases", table.Rows[0].GetText(0));
        Assert.Equal(2, BinaryPrimitives.ReadInt32BigEndian(table.Rows[0].Values[1]));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(7L)]
    [InlineData(9_999L)]
    [InlineData(10_000L)]
    [InlineData(123_456_789L)]
    [InlineData(100_000_000_0000L)]
    [InlineData(-42_0000L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    public void Numeric_binary_round_trips_integers(long value)
    {
        Assert.Equal(value, DecodeNumeric(ResultWriter.Numeric(value)));
    }

    [Fact]
    public void Numeric_binary_matches_postgresql_byte_for_byte()
    {
        // SELECT numeric_send(10000), numeric_send(0), numeric_send(123456789) on PostgreSQL:
        Assert.Equal(Convert.FromHexString("0001000100000000" + "0001"), ResultWriter.Numeric(10_000));
        Assert.Equal(Convert.FromHexString("0000000000000000"), ResultWriter.Numeric(0));
        Assert.Equal(Convert.FromHexString("0003000200000000" + "0001" + "0929" + "1A85"), ResultWriter.Numeric(123_456_789));
    }

    [Fact]
    public async Task Describe_statement_answers_no_parameters_and_the_columns_without_running_anything()
    {
        var backend = new FakeAdminBackend();
        using var client = new ConsoleClient(backend);

        await client.SendAsync(
            new Parse("pools", "SHOW POOLS").WriteTo,
            new Describe(StatementOrPortal.Statement, "pools").WriteTo,
            new Parse("pause", "PAUSE app").WriteTo,
            new Describe(StatementOrPortal.Statement, "pause").WriteTo,
            Sync.Write);
        var messages = await client.ReadUntilReadyAsync();

        Assert.Equal("1tT1tnZ", Wire.Types(messages));
        Assert.Empty(ParameterDescription.Read(messages[1].Payload).TypeOids);
        Assert.Equal(16, RowDescription.Read(messages[2].Payload).Fields.Count);
        Assert.Empty(backend.Calls);
    }

    [Fact]
    public async Task A_command_that_acts_runs_once_at_execute_not_at_describe()
    {
        var backend = new FakeAdminBackend();
        using var client = new ConsoleClient(backend);

        var messages = await RunAsync(client, "PAUSE app", []);

        Assert.Equal("12nCZ", Wire.Types(messages));
        Assert.Equal(["PAUSE"], Wire.Tags(messages));
        Assert.Equal([(AdminCommand.Pause, "app")], backend.Calls);
    }

    [Fact]
    public async Task Execute_with_a_row_limit_suspends_the_portal_and_resumes_it()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        await client.SendAsync(
            new Parse("", "SHOW CLUSTER POOLS").WriteTo,
            new Bind("").WriteTo,
            new Execute("", 2).WriteTo,
            new Execute("", 2).WriteTo,
            Sync.Write);
        var messages = await client.ReadUntilReadyAsync();

        Assert.Equal("12DDsDCZ", Wire.Types(messages));
    }

    [Fact]
    public async Task An_error_in_a_batch_skips_to_its_sync_and_the_next_batch_works()
    {
        var backend = new FakeAdminBackend();
        using var client = new ConsoleClient(backend);

        await client.SendAsync(
            new Parse("", "PAUSE app").WriteTo,
            new Bind("", "missing", [], [], []).WriteTo,
            new Bind("").WriteTo,
            new Execute("", 0).WriteTo,
            Sync.Write);
        var failed = await client.ReadUntilReadyAsync();
        var next = await RunAsync(client, "SHOW VERSION", []);

        Assert.Equal("1EZ", Wire.Types(failed));
        Assert.Equal("26000", Wire.Error(failed).SqlState);
        Assert.Empty(backend.Calls);
        Assert.Equal("12TDCZ", Wire.Types(next));
    }

    [Fact]
    public async Task An_unknown_command_fails_at_parse()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var messages = await RunAsync(client, "SELECT 1", []);

        Assert.Equal("EZ", Wire.Types(messages));
        Assert.Equal(SqlState.SyntaxError, Wire.Error(messages).SqlState);
    }

    [Fact]
    public async Task A_prepared_statement_holds_one_command()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        var messages = await RunAsync(client, "SHOW POOLS; SHOW STATS", []);

        Assert.Equal("42601", Wire.Error(messages).SqlState);
    }

    [Fact]
    public async Task Bind_refuses_parameters_and_format_counts_that_match_no_column_count()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        await client.SendAsync(
            new Parse("v", "SHOW VERSION").WriteTo,
            new Bind("", "v", [], [[1]], []).WriteTo,
            Sync.Write,
            new Bind("", "v", [], [], [FormatCode.Text, FormatCode.Binary]).WriteTo,
            Sync.Write);
        var parameters = await client.ReadUntilReadyAsync();
        var formats = await client.ReadUntilReadyAsync();

        Assert.Contains("supplies 1 parameters", Wire.Error(parameters).Message);
        Assert.Contains("has 2 result formats but query has 1 columns", Wire.Error(formats).Message);
    }

    [Fact]
    public async Task Named_statements_outlive_sync_until_closed()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        await client.SendAsync(new Parse("v", "SHOW VERSION").WriteTo, Sync.Write);
        await client.ReadUntilReadyAsync();
        await client.SendAsync(new Bind("", "v", [], [], []).WriteTo, new Execute("", 0).WriteTo, Sync.Write);
        var reused = await client.ReadUntilReadyAsync();
        await client.SendAsync(new Close(StatementOrPortal.Statement, "v").WriteTo, new Bind("", "v", [], [], []).WriteTo, Sync.Write);
        var closed = await client.ReadUntilReadyAsync();

        Assert.Equal("2DCZ", Wire.Types(reused));
        Assert.Equal("3EZ", Wire.Types(closed));
    }

    [Fact]
    public async Task Flush_sends_what_is_ready_without_ending_the_batch()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        await client.SendAsync(new Parse("", "SHOW VERSION").WriteTo, Flush.Write);

        Assert.Equal(BackendMessageType.ParseComplete, (await client.ReadAsync()).Type);
    }

    [Fact]
    public async Task An_empty_statement_executes_to_empty_query_response()
    {
        using var client = new ConsoleClient(new FakeAdminBackend());

        Assert.Equal("12nIZ", Wire.Types(await RunAsync(client, "", [])));
    }

    /// <summary>What Npgsql sends for one command: Parse, Bind, Describe portal, Execute, Sync.</summary>
    private static async Task<List<Pooler.Core.Wire.WireMessage>> RunAsync(ConsoleClient client, string sql, FormatCode[] resultFormats)
    {
        await client.SendAsync(
            new Parse("", sql).WriteTo,
            new Bind("", "", [], [], resultFormats).WriteTo,
            new Describe(StatementOrPortal.Portal, "").WriteTo,
            new Execute("", 0).WriteTo,
            Sync.Write);
        return await client.ReadUntilReadyAsync();
    }

    /// <summary>Reads PostgreSQL's numeric binary form back into an integer (the test's own decoder).</summary>
    private static Int128 DecodeNumeric(byte[] bytes)
    {
        int ndigits = BinaryPrimitives.ReadInt16BigEndian(bytes);
        int weight = BinaryPrimitives.ReadInt16BigEndian(bytes.AsSpan(2));
        int sign = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(4));
        Assert.Equal(0, BinaryPrimitives.ReadInt16BigEndian(bytes.AsSpan(6))); // dscale
        Assert.Equal(8 + (2 * ndigits), bytes.Length);
        Assert.True(ndigits == 0 || BinaryPrimitives.ReadInt16BigEndian(bytes.AsSpan(6 + (2 * ndigits))) != 0, "trailing zero digit");
        Int128 value = 0;
        for (int i = 0; i <= weight; i++)
        {
            short digit = i < ndigits ? BinaryPrimitives.ReadInt16BigEndian(bytes.AsSpan(8 + (2 * i))) : (short)0;
            Assert.InRange(digit, (short)0, (short)9999);
            value = (value * 10_000) + digit;
        }
        return sign == 0x4000 ? -value : value;
    }
}
