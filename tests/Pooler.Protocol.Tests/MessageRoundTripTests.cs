namespace Pooler.Protocol.Tests;

/// <summary>Every message written and read back: same type byte, same fields.</summary>
public sealed class MessageRoundTripTests
{
    [Fact]
    public void Startup_message_keeps_version_and_parameters_in_order()
    {
        var message = new StartupMessage(
            [new("user", "alice"), new("database", "shop"), new("options", "-c search_path=app"), new("application_name", "psql é")],
            StartupCode.ProtocolVersion3_2);

        (_, byte[] payload) = Wire.SingleStartup(Wire.Bytes(message.WriteTo));
        StartupMessage read = StartupMessage.Read(payload);

        Assert.Equal(StartupCode.ProtocolVersion3_2, read.ProtocolVersion);
        Assert.Equal(message.Parameters, read.Parameters);
        Assert.Equal("alice", read.User);
        Assert.Equal("shop", read.Database);
        Assert.Equal("-c search_path=app", read.Options);
        Assert.Equal("psql é", read.ApplicationName);
    }

    [Fact]
    public void Startup_message_has_the_documented_layout()
    {
        byte[] bytes = Wire.Bytes(StartupMessage.Create("u").WriteTo);

        Assert.Equal([0, 0, 0, 16, 0, 3, 0, 0, .. "user\0u\0\0"u8], bytes);
    }

    [Fact]
    public void Repeated_startup_parameter_reads_as_its_last_value()
    {
        var message = new StartupMessage([new("user", "a"), new("user", "b")]);

        Assert.Equal("b", message.User);
        Assert.Null(message.Database);
    }

    [Fact]
    public void Cancel_request_round_trips_with_a_protocol_3_0_key()
    {
        (_, byte[] payload) = Wire.SingleStartup(Wire.Bytes(new CancelRequest(4242, unchecked((int)0xDEADBEEF)).WriteTo));
        CancelRequest read = CancelRequest.Read(payload);

        Assert.Equal(4242, read.ProcessId);
        Assert.Equal(unchecked((int)0xDEADBEEF), read.SecretKeyInt32);
    }

    [Fact]
    public void Cancel_request_round_trips_with_a_long_protocol_3_2_key()
    {
        byte[] key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

        (_, byte[] payload) = Wire.SingleStartup(Wire.Bytes(new CancelRequest(7, key).WriteTo));
        CancelRequest read = CancelRequest.Read(payload);

        Assert.Equal(key, read.SecretKey);
        Assert.Null(read.SecretKeyInt32);
    }

    [Fact]
    public void Authentication_requests_round_trip_in_every_variant()
    {
        AuthenticationRequest[] requests =
        [
            AuthenticationRequest.Ok,
            AuthenticationRequest.CleartextPassword,
            AuthenticationRequest.Md5Password([1, 2, 3, 4]),
            AuthenticationRequest.Sasl("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"),
            AuthenticationRequest.SaslContinue("r=abc,s=c2FsdA==,i=4096"u8),
            AuthenticationRequest.SaslFinal("v=c2lnbmF0dXJl"u8),
        ];

        foreach (AuthenticationRequest request in requests)
        {
            (byte type, byte[] payload) = Wire.Single(Wire.Bytes(request.WriteTo));
            AuthenticationRequest read = AuthenticationRequest.Read(payload);

            Assert.Equal(BackendMessageType.Authentication, type);
            Assert.Equal(request.Code, read.Code);
            Assert.Equal(request.Code, AuthenticationRequest.ReadCode(payload));
            Assert.Equal(request.Data.ToArray(), read.Data.ToArray());
            Assert.Equal(request.Mechanisms, read.Mechanisms);
        }
    }

    [Fact]
    public void Authentication_ok_is_the_documented_nine_bytes()
    {
        Assert.Equal([(byte)'R', 0, 0, 0, 8, 0, 0, 0, 0], Wire.Bytes(AuthenticationRequest.Ok.WriteTo));
    }

    [Fact]
    public void Password_message_round_trips()
    {
        (byte type, byte[] payload) = Wire.Single(Wire.Bytes(new PasswordMessage("md5abc").WriteTo));

        Assert.Equal(FrontendMessageType.Password, type);
        Assert.Equal(new PasswordMessage("md5abc"), PasswordMessage.Read(payload));
    }

    [Fact]
    public void Sasl_initial_response_round_trips_with_data_and_without()
    {
        (_, byte[] withData) = Wire.Single(Wire.Bytes(new SaslInitialResponse("SCRAM-SHA-256", "n,,n=,r=x"u8.ToArray()).WriteTo));
        (_, byte[] withoutData) = Wire.Single(Wire.Bytes(new SaslInitialResponse("SCRAM-SHA-256", null).WriteTo));

        Assert.Equal("n,,n=,r=x"u8.ToArray(), SaslInitialResponse.Read(withData).Data);
        Assert.Equal("SCRAM-SHA-256", SaslInitialResponse.Read(withoutData).Mechanism);
        Assert.Null(SaslInitialResponse.Read(withoutData).Data);
        Assert.Equal([.. "SCRAM-SHA-256\0"u8, 0xFF, 0xFF, 0xFF, 0xFF], withoutData);
    }

    [Fact]
    public void Sasl_response_round_trips()
    {
        (byte type, byte[] payload) = Wire.Single(Wire.Bytes(new SaslResponse("c=biws,r=x,p=y"u8.ToArray()).WriteTo));

        Assert.Equal(FrontendMessageType.Password, type);
        Assert.Equal("c=biws,r=x,p=y"u8.ToArray(), SaslResponse.Read(payload).Data);
    }

    [Fact]
    public void Session_messages_round_trip()
    {
        Assert.Equal(new ParameterStatus("server_version", "17.2"), RoundTrip(new ParameterStatus("server_version", "17.2").WriteTo, BackendMessageType.ParameterStatus, ParameterStatus.Read));

        BackendKeyData key = RoundTrip(new BackendKeyData(99, 12345).WriteTo, BackendMessageType.BackendKeyData, BackendKeyData.Read);
        Assert.Equal(99, key.ProcessId);
        Assert.Equal(12345, key.SecretKeyInt32);

        foreach (TransactionStatus status in Enum.GetValues<TransactionStatus>())
        {
            Assert.Equal(status, RoundTrip(new ReadyForQuery(status).WriteTo, BackendMessageType.ReadyForQuery, ReadyForQuery.Read).Status);
        }

        NegotiateProtocolVersion negotiate = RoundTrip(
            new NegotiateProtocolVersion(0, ["_pq_.compression"]).WriteTo, BackendMessageType.NegotiateProtocolVersion, NegotiateProtocolVersion.Read);
        Assert.Equal(0, negotiate.NewestMinorVersion);
        Assert.Equal(["_pq_.compression"], negotiate.UnrecognizedOptions);

        Assert.Equal(
            new NotificationResponse(5, "jobs", "42"),
            RoundTrip(new NotificationResponse(5, "jobs", "42").WriteTo, BackendMessageType.NotificationResponse, NotificationResponse.Read));
    }

    [Fact]
    public void Backend_key_data_keeps_a_32_byte_protocol_3_2_key()
    {
        byte[] key = Enumerable.Repeat((byte)0xAB, 32).ToArray();

        BackendKeyData read = RoundTrip(new BackendKeyData(1, key).WriteTo, BackendMessageType.BackendKeyData, BackendKeyData.Read);

        Assert.Equal(key, read.SecretKey);
    }

    [Fact]
    public void Simple_query_messages_round_trip()
    {
        Assert.Equal(new Query("select 'é'"), RoundTrip(new Query("select 'é'").WriteTo, FrontendMessageType.Query, Query.Read));
        Assert.Equal(new CommandComplete("SELECT 3"), RoundTrip(new CommandComplete("SELECT 3").WriteTo, BackendMessageType.CommandComplete, CommandComplete.Read));
    }

    [Fact]
    public void Row_description_round_trips_every_field_attribute()
    {
        var description = RowDescription.FromFields(
            new FieldDescription("id", 16384, 1, TypeOids.Int4, 4, -1, FormatCode.Binary),
            new FieldDescription("name", 16384, 2, TypeOids.Varchar, -1, 68, FormatCode.Text),
            FieldDescription.Text("computed"),
            new FieldDescription("big_oid", uint.MaxValue, 0, 4_000_000_000, 8, -1, FormatCode.Text));

        RowDescription read = RoundTrip(description.WriteTo, BackendMessageType.RowDescription, RowDescription.Read);

        Assert.Equal(description.Fields, read.Fields);
    }

    [Fact]
    public void Data_row_round_trips_with_null_and_empty_columns()
    {
        var row = new DataRow([[1, 2], null, [], "x"u8.ToArray()]);

        DataRow read = RoundTrip(row.WriteTo, BackendMessageType.DataRow, DataRow.Read);

        Assert.Equal(4, read.Values.Count);
        Assert.Equal([1, 2], read.Values[0]);
        Assert.Null(read.Values[1]);
        Assert.Empty(read.Values[2]!);
        Assert.Equal("x", read.GetText(3));
    }

    [Fact]
    public void Data_row_written_from_text_matches_one_built_from_bytes()
    {
        byte[] direct = Wire.Bytes(o => DataRow.WriteText(o, "pool", null, "ünï"));
        byte[] built = Wire.Bytes(DataRow.FromText("pool", null, "ünï").WriteTo);

        Assert.Equal(built, direct);
        Assert.Equal("ünï", DataRow.Read(Wire.Single(direct).Payload).GetText(2));
    }

    [Fact]
    public void Extended_query_messages_round_trip()
    {
        var parse = new Parse("s1", "select $1::int, $2", [TypeOids.Int4, 0]);
        Parse readParse = RoundTrip(parse.WriteTo, FrontendMessageType.Parse, Parse.Read);
        Assert.Equal(("s1", "select $1::int, $2"), (readParse.StatementName, readParse.Sql));
        Assert.Equal(parse.ParameterTypeOids, readParse.ParameterTypeOids);

        var bind = new Bind("p1", "s1", [FormatCode.Text, FormatCode.Binary], ["42"u8.ToArray(), null], [FormatCode.Binary]);
        Bind readBind = RoundTrip(bind.WriteTo, FrontendMessageType.Bind, Bind.Read);
        Assert.Equal(("p1", "s1"), (readBind.Portal, readBind.Statement));
        Assert.Equal(bind.ParameterFormats, readBind.ParameterFormats);
        Assert.Equal("42"u8.ToArray(), readBind.Parameters[0]);
        Assert.Null(readBind.Parameters[1]);
        Assert.Equal(bind.ResultFormats, readBind.ResultFormats);

        Assert.Equal(new Describe(StatementOrPortal.Statement, "s1"), RoundTrip(new Describe(StatementOrPortal.Statement, "s1").WriteTo, FrontendMessageType.Describe, Describe.Read));
        Assert.Equal(new Describe(StatementOrPortal.Portal, ""), RoundTrip(new Describe(StatementOrPortal.Portal, "").WriteTo, FrontendMessageType.Describe, Describe.Read));
        Assert.Equal(new Execute("p1", 100), RoundTrip(new Execute("p1", 100).WriteTo, FrontendMessageType.Execute, Execute.Read));
        Assert.Equal(new Close(StatementOrPortal.Statement, "s1"), RoundTrip(new Close(StatementOrPortal.Statement, "s1").WriteTo, FrontendMessageType.Close, Close.Read));

        ParameterDescription parameters = RoundTrip(new ParameterDescription([23, 25]).WriteTo, BackendMessageType.ParameterDescription, ParameterDescription.Read);
        Assert.Equal([23u, 25u], parameters.TypeOids);
    }

    [Fact]
    public void Statement_names_are_read_without_decoding_the_rest()
    {
        (_, byte[] parse) = Wire.Single(Wire.Bytes(new Parse("stmt_7", "select 1").WriteTo));
        (_, byte[] bind) = Wire.Single(Wire.Bytes(new Bind("portal", "stmt_7", [], [], []).WriteTo));
        (_, byte[] close) = Wire.Single(Wire.Bytes(new Close(StatementOrPortal.Statement, "stmt_7").WriteTo));
        (_, byte[] describe) = Wire.Single(Wire.Bytes(new Describe(StatementOrPortal.Portal, "portal").WriteTo));

        Assert.True(Parse.ReadStatementName(parse).SequenceEqual("stmt_7"u8));
        Assert.True(Bind.ReadStatementName(bind).SequenceEqual("stmt_7"u8));
        Assert.True(Close.ReadTarget(close, out StatementOrPortal closeKind).SequenceEqual("stmt_7"u8));
        Assert.Equal(StatementOrPortal.Statement, closeKind);
        Assert.True(Describe.ReadTarget(describe, out StatementOrPortal describeKind).SequenceEqual("portal"u8));
        Assert.Equal(StatementOrPortal.Portal, describeKind);
    }

    [Fact]
    public void Copy_messages_round_trip()
    {
        Assert.Equal("1\tfoo\n"u8.ToArray(), RoundTrip(new CopyData("1\tfoo\n"u8.ToArray()).WriteTo, BackendMessageType.CopyData, CopyData.Read).Data);
        Assert.Equal(new CopyFail("aborted"), RoundTrip(new CopyFail("aborted").WriteTo, FrontendMessageType.CopyFail, CopyFail.Read));

        foreach (CopyDirection direction in Enum.GetValues<CopyDirection>())
        {
            var response = new CopyResponse(direction, FormatCode.Binary, [FormatCode.Binary, FormatCode.Binary]);
            (byte type, byte[] payload) = Wire.Single(Wire.Bytes(response.WriteTo));
            CopyResponse read = CopyResponse.Read(type, payload);

            Assert.Equal(direction, read.Direction);
            Assert.Equal(FormatCode.Binary, read.Format);
            Assert.Equal(response.ColumnFormats, read.ColumnFormats);
        }
    }

    [Fact]
    public void Empty_messages_are_a_type_byte_and_length_four()
    {
        (Action<IBufferWriter<byte>> Write, Action<byte[]> Read, byte Type)[] messages =
        [
            (Sync.Write, p => Sync.Read(p), FrontendMessageType.Sync),
            (Flush.Write, p => Flush.Read(p), FrontendMessageType.Flush),
            (Terminate.Write, p => Terminate.Read(p), FrontendMessageType.Terminate),
            (CopyDone.Write, p => CopyDone.Read(p), FrontendMessageType.CopyDone),
            (EmptyQueryResponse.Write, p => EmptyQueryResponse.Read(p), BackendMessageType.EmptyQueryResponse),
            (ParseComplete.Write, p => ParseComplete.Read(p), BackendMessageType.ParseComplete),
            (BindComplete.Write, p => BindComplete.Read(p), BackendMessageType.BindComplete),
            (CloseComplete.Write, p => CloseComplete.Read(p), BackendMessageType.CloseComplete),
            (NoData.Write, p => NoData.Read(p), BackendMessageType.NoData),
            (PortalSuspended.Write, p => PortalSuspended.Read(p), BackendMessageType.PortalSuspended),
        ];

        foreach ((Action<IBufferWriter<byte>> write, Action<byte[]> read, byte type) in messages)
        {
            byte[] bytes = Wire.Bytes(write);
            Assert.Equal([type, 0, 0, 0, 4], bytes);
            read(Wire.Single(bytes).Payload);
            Assert.Throws<ProtocolViolationException>(() => read([1]));
        }
    }

    [Fact]
    public void Writers_append_to_a_buffer_that_already_holds_messages()
    {
        var output = new ArrayBufferWriter<byte>(1);
        Query.Write(output, "select 1");
        Sync.Write(output);
        Terminate.Write(output);

        var input = new ReadOnlySequence<byte>(output.WrittenMemory);
        var types = new List<byte>();
        while (FrameScanner.TryReadFrame(input, Wire.MaxLength, out Frame frame) == FrameStatus.Complete)
        {
            types.Add(frame.Type);
            input = input.Slice(frame.End);
        }

        Assert.Equal("QSX"u8.ToArray(), types);
    }

    [Fact]
    public void Writing_a_string_with_a_nul_is_refused_rather_than_corrupting_the_stream()
    {
        Assert.Throws<ArgumentException>(() => Wire.Bytes(o => Query.Write(o, "select 1\0; drop table x")));
    }

    private static T RoundTrip<T>(Action<IBufferWriter<byte>> write, byte expectedType, ReadFunc<T> read)
    {
        (byte type, byte[] payload) = Wire.Single(Wire.Bytes(write));
        Assert.Equal(expectedType, type);
        return read(payload);
    }

    private delegate T ReadFunc<out T>(ReadOnlySpan<byte> payload);
}
