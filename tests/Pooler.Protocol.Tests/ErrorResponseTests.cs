namespace Pooler.Protocol.Tests;

public sealed class ErrorResponseTests
{
    [Fact]
    public void Every_documented_field_round_trips_through_its_named_property()
    {
        var error = new ErrorResponse
        {
            Severity = "ERREUR",
            SeverityNonLocalized = "ERROR",
            SqlState = "23505",
            Message = "duplicate key value violates unique constraint \"users_pkey\"",
            Detail = "Key (id)=(1) already exists.",
            Hint = "Use ON CONFLICT.",
            Position = "15",
            InternalPosition = "3",
            InternalQuery = "select 1",
            Where = "PL/pgSQL function f() line 3",
            SchemaName = "public",
            TableName = "users",
            ColumnName = "id",
            DataTypeName = "int4",
            ConstraintName = "users_pkey",
            File = "nbtinsert.c",
            Line = "666",
            Routine = "_bt_check_unique",
        };

        (byte type, byte[] payload) = Wire.Single(Wire.Bytes(error.WriteTo));
        ErrorResponse read = ErrorResponse.Read(payload);

        Assert.Equal(BackendMessageType.ErrorResponse, type);
        Assert.Equal("ERREUR", read.Severity);
        Assert.Equal("ERROR", read.SeverityNonLocalized);
        Assert.Equal("23505", read.SqlState);
        Assert.Equal(error.Message, read.Message);
        Assert.Equal("Key (id)=(1) already exists.", read.Detail);
        Assert.Equal("Use ON CONFLICT.", read.Hint);
        Assert.Equal("15", read.Position);
        Assert.Equal("3", read.InternalPosition);
        Assert.Equal("select 1", read.InternalQuery);
        Assert.Equal("PL/pgSQL function f() line 3", read.Where);
        Assert.Equal("public", read.SchemaName);
        Assert.Equal("users", read.TableName);
        Assert.Equal("id", read.ColumnName);
        Assert.Equal("int4", read.DataTypeName);
        Assert.Equal("users_pkey", read.ConstraintName);
        Assert.Equal("nbtinsert.c", read.File);
        Assert.Equal("666", read.Line);
        Assert.Equal("_bt_check_unique", read.Routine);
        Assert.Equal(18, read.Fields.Count);
        Assert.Empty(read.UnknownFields);
    }

    [Fact]
    public void Unknown_field_codes_are_kept_and_written_back_unchanged()
    {
        byte[] payload = [.. "SFATAL\0"u8, .. "C28P01\0"u8, .. "Zfuture field\0"u8, .. "Mbad password\0"u8, 0];

        ErrorResponse read = ErrorResponse.Read(payload);

        Assert.Equal([new ErrorField((byte)'Z', "future field")], read.UnknownFields);
        Assert.Equal("future field", read[(byte)'Z']);
        Assert.Equal(Wire.Frame(BackendMessageType.ErrorResponse, payload), Wire.Bytes(read.WriteTo));
    }

    [Fact]
    public void Pooler_errors_carry_both_severities_a_sqlstate_and_a_message()
    {
        ErrorResponse error = ErrorResponse.Create(ErrorSeverity.Fatal, SqlState.TooManyConnections, "no more connections allowed", hint: "raise pool_size");

        ErrorResponse read = ErrorResponse.Read(Wire.Single(Wire.Bytes(error.WriteTo)).Payload);

        Assert.Equal("FATAL", read.Severity);
        Assert.Equal("FATAL", read.SeverityNonLocalized);
        Assert.Equal("53300", read.SqlState);
        Assert.Equal("raise pool_size", read.Hint);
        Assert.Null(read.Detail);
        Assert.Equal("FATAL 53300: no more connections allowed", read.ToString());
    }

    [Fact]
    public void Notice_response_shares_the_layout_under_its_own_type_byte()
    {
        NoticeResponse notice = NoticeResponse.Create(ErrorSeverity.Warning, "01000", "careful");

        (byte type, byte[] payload) = Wire.Single(Wire.Bytes(notice.WriteTo));

        Assert.Equal(BackendMessageType.NoticeResponse, type);
        Assert.Equal("careful", NoticeResponse.Read(payload).Message);
    }

    [Fact]
    public void Setting_a_field_to_null_removes_it()
    {
        var error = new ErrorResponse { Message = "m", Detail = "d" };
        error.Set(ErrorFieldCode.Detail, null);

        Assert.Null(error.Detail);
        Assert.Single(error.Fields);
    }

    [Fact]
    public void Error_response_without_its_terminator_is_a_protocol_violation()
    {
        var ex = Assert.Throws<ProtocolViolationException>(() => ErrorResponse.Read("SERROR\0"u8));

        Assert.Contains("ErrorResponse", ex.Message);
        Assert.Equal("08P01", ex.SqlState);
    }

    [Fact]
    public void Error_field_value_without_its_nul_is_a_protocol_violation()
    {
        var ex = Assert.Throws<ProtocolViolationException>(() => ErrorResponse.Read("SERROR"u8));

        Assert.Equal("invalid ErrorResponse message: field value is missing its NUL terminator", ex.Message);
    }
}
