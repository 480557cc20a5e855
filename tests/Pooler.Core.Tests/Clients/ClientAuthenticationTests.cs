using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;
using Pooler.Config;
using Pooler.Core.Clients;
using Pooler.Core.Wire;
using Pooler.Protocol;
using Pooler.Protocol.Auth;
using Xunit;

namespace Pooler.Core.Tests.Clients;

/// <summary>
/// The pooler's side of a client login, against Pooler.Protocol's own client authenticator over a
/// pair of in-memory pipes standing in for the socket.
/// </summary>
public sealed class ClientAuthenticationTests
{
    private const string User = "alice";
    private const string Password = "correct-horse";
    private const string WrongPassword = "hunter2-guess";
    private const int MaxMessageSize = 1 << 16;

    private static readonly AuthType[] Methods = [AuthType.ScramSha256, AuthType.Md5, AuthType.Plain];

    public static TheoryData<AuthType> AllMethods => new(Methods);

    [Fact]
    public async Task Scram_login_succeeds_against_a_plaintext_password()
    {
        Login login = await LoginAsync(AuthType.ScramSha256, stored: Password, clientPassword: Password);

        AssertAuthenticated(login);
        Assert.Equal(AuthenticationCode.Sasl, login.ClientMethod);
    }

    [Fact]
    public async Task Scram_login_succeeds_against_a_stored_scram_secret()
    {
        string secret = ScramSecret.Create(Password, "0123456789abcdef"u8);

        Login login = await LoginAsync(AuthType.ScramSha256, stored: secret, clientPassword: Password);

        AssertAuthenticated(login);
    }

    [Fact]
    public async Task Scram_login_with_a_wrong_password_fails_with_invalid_password()
    {
        Login login = await LoginAsync(AuthType.ScramSha256, stored: Password, clientPassword: WrongPassword);

        AssertWrongPassword(login);
    }

    [Fact]
    public async Task Scram_login_with_a_wrong_password_fails_against_a_stored_scram_secret()
    {
        string secret = ScramSecret.Create(Password, "0123456789abcdef"u8);

        Login login = await LoginAsync(AuthType.ScramSha256, stored: secret, clientPassword: WrongPassword);

        AssertWrongPassword(login);
    }

    [Theory]
    [MemberData(nameof(AllMethods))]
    public async Task Unknown_user_gets_exactly_the_error_of_a_wrong_password(AuthType method)
    {
        Login unknown = await LoginAsync(method, stored: null, clientPassword: Password);
        Login wrong = await LoginAsync(method, stored: Password, clientPassword: WrongPassword);

        AssertWrongPassword(unknown);
        Assert.Equal(wrong.Error!.Fields, unknown.Error!.Fields);
        Assert.Equal(wrong.Requests, unknown.Requests);
        Assert.Contains("no such user", unknown.Result.Reason);
    }

    [Fact]
    public async Task Scram_against_a_stored_md5_secret_fails_as_a_wrong_password_and_says_why_in_the_log()
    {
        Login login = await LoginAsync(
            AuthType.ScramSha256, stored: Md5Password.CreateSecret(User, Password), clientPassword: Password);

        AssertWrongPassword(login);
        Assert.Contains("MD5 secret", login.Result.Reason);
    }

    [Fact]
    public async Task Md5_login_succeeds_against_a_plaintext_password()
    {
        Login login = await LoginAsync(AuthType.Md5, stored: Password, clientPassword: Password);

        AssertAuthenticated(login);
        Assert.Equal(AuthenticationCode.Md5Password, login.ClientMethod);
    }

    [Fact]
    public async Task Md5_login_succeeds_against_a_stored_md5_secret()
    {
        Login login = await LoginAsync(AuthType.Md5, stored: Md5Password.CreateSecret(User, Password), clientPassword: Password);

        AssertAuthenticated(login);
    }

    [Fact]
    public async Task Md5_login_with_a_wrong_password_fails_with_invalid_password()
    {
        Login login = await LoginAsync(AuthType.Md5, stored: Md5Password.CreateSecret(User, Password), clientPassword: WrongPassword);

        AssertWrongPassword(login);
    }

    [Fact]
    public async Task Md5_against_a_stored_scram_secret_fails_as_a_wrong_password()
    {
        string secret = ScramSecret.Create(Password, "0123456789abcdef"u8);

        Login login = await LoginAsync(AuthType.Md5, stored: secret, clientPassword: Password);

        AssertWrongPassword(login);
        Assert.Contains("SCRAM secret", login.Result.Reason);
    }

    [Fact]
    public async Task Cleartext_login_succeeds_against_a_plaintext_password()
    {
        Login login = await LoginAsync(AuthType.Plain, stored: Password, clientPassword: Password);

        AssertAuthenticated(login);
        Assert.Equal(AuthenticationCode.CleartextPassword, login.ClientMethod);
    }

    [Fact]
    public async Task Cleartext_login_succeeds_against_a_stored_scram_secret()
    {
        string secret = ScramSecret.Create(Password, "0123456789abcdef"u8, iterations: 1000);

        Login login = await LoginAsync(AuthType.Plain, stored: secret, clientPassword: Password);

        AssertAuthenticated(login);
    }

    [Fact]
    public async Task Cleartext_login_succeeds_against_a_stored_md5_secret()
    {
        Login login = await LoginAsync(AuthType.Plain, stored: Md5Password.CreateSecret(User, Password), clientPassword: Password);

        AssertAuthenticated(login);
    }

    [Theory]
    [InlineData(Password)]
    [InlineData("SCRAM")]
    [InlineData("MD5")]
    public async Task Cleartext_login_with_a_wrong_password_fails_whatever_is_stored(string storedAs)
    {
        string stored = storedAs switch
        {
            "SCRAM" => ScramSecret.Create(Password, "0123456789abcdef"u8),
            "MD5" => Md5Password.CreateSecret(User, Password),
            _ => Password,
        };

        Login login = await LoginAsync(AuthType.Plain, stored, clientPassword: WrongPassword);

        AssertWrongPassword(login);
    }

    [Fact]
    public async Task Cleartext_login_with_an_empty_password_fails_even_if_the_stored_one_is_empty()
    {
        Login login = await LoginAsync(AuthType.Plain, stored: string.Empty, clientPassword: string.Empty);

        AssertWrongPassword(login);
    }

    [Fact]
    public async Task The_public_entry_point_returns_the_outcome()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var socket = new SocketPipes();
        Task<ClientAuthOutcome> server = ClientAuthentication.AuthenticateAsync(
            socket.ServerInput, socket.ServerOutput, User, Password, AuthType.Plain, MaxMessageSize, timeout.Token);

        await socket.ExpectRequestAsync(AuthenticationCode.CleartextPassword, timeout.Token);
        await socket.SendAsync(output => new PasswordMessage(Password).WriteTo(output));

        Assert.Equal(ClientAuthOutcome.Authenticated, await server);
    }

    [Theory]
    [MemberData(nameof(AllMethods))]
    public async Task Client_closing_after_the_auth_request_is_a_disconnect_and_nothing_more_is_sent(AuthType method)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var socket = new SocketPipes();
        Task<ClientAuthResult> server = socket.AuthenticateAsync(method, Password, timeout.Token);

        await socket.ReadAsync(timeout.Token); // the auth request; psql now prompts for a password
        await socket.ClientOutput.CompleteAsync();

        ClientAuthResult result = await server;
        Assert.Equal(ClientAuthOutcome.Disconnected, result.Outcome);
        Assert.False(socket.ClientInput.TryRead(out _), "nothing may follow the auth request");
    }

    [Fact]
    public async Task Client_closing_in_the_middle_of_scram_is_a_disconnect()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var socket = new SocketPipes();
        var client = new ClientAuthenticator(User, Password);
        Task<ClientAuthResult> server = socket.AuthenticateAsync(AuthType.ScramSha256, Password, timeout.Token);

        WireMessage request = await socket.ReadAsync(timeout.Token);
        client.Handle(request.Payload, socket.ClientOutput);
        await socket.ClientOutput.FlushAsync(timeout.Token);
        await socket.ReadAsync(timeout.Token); // SASLContinue
        await socket.ClientOutput.CompleteAsync();

        Assert.Equal(ClientAuthOutcome.Disconnected, (await server).Outcome);
    }

    [Theory]
    [MemberData(nameof(AllMethods))]
    public async Task A_message_other_than_a_password_message_is_a_protocol_violation(AuthType method)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var socket = new SocketPipes();
        Task<ClientAuthResult> server = socket.AuthenticateAsync(method, Password, timeout.Token);

        await socket.ReadAsync(timeout.Token);
        await socket.SendAsync(output => new Query("select 1").WriteTo(output));

        ErrorResponse error = await socket.ExpectErrorAsync(timeout.Token);
        Assert.Equal(ClientAuthOutcome.Failed, (await server).Outcome);
        Assert.Equal(ErrorSeverity.Fatal, error.Severity);
        Assert.Equal(SqlState.ProtocolViolation, error.SqlState);
        Assert.Equal("expected a password message, got 'Q'", error.Message);
    }

    [Fact]
    public async Task A_malformed_password_message_is_a_protocol_violation()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var socket = new SocketPipes();
        Task<ClientAuthResult> server = socket.AuthenticateAsync(AuthType.Plain, Password, timeout.Token);

        await socket.ReadAsync(timeout.Token);
        await socket.SendRawAsync(FrontendMessageType.Password, Encoding.UTF8.GetBytes(Password)); // no NUL terminator

        ErrorResponse error = await socket.ExpectErrorAsync(timeout.Token);
        Assert.Equal(ClientAuthOutcome.Failed, (await server).Outcome);
        Assert.Equal(SqlState.ProtocolViolation, error.SqlState);
        Assert.DoesNotContain(Password, error.ToString());
    }

    [Fact]
    public async Task A_password_message_above_the_size_limit_is_a_protocol_violation()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var socket = new SocketPipes();
        Task<ClientAuthResult> server = socket.AuthenticateAsync(AuthType.Plain, Password, timeout.Token);

        await socket.ReadAsync(timeout.Token);
        await socket.SendHeaderAsync(FrontendMessageType.Password, declaredLength: MaxMessageSize + 5);

        ErrorResponse error = await socket.ExpectErrorAsync(timeout.Token);
        Assert.Equal(ClientAuthOutcome.Failed, (await server).Outcome);
        Assert.Equal(SqlState.ProtocolViolation, error.SqlState);
    }

    [Fact]
    public async Task A_sasl_mechanism_other_than_scram_sha_256_is_refused()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var socket = new SocketPipes();
        Task<ClientAuthResult> server = socket.AuthenticateAsync(AuthType.ScramSha256, Password, timeout.Token);

        await socket.ExpectRequestAsync(AuthenticationCode.Sasl, timeout.Token);
        await socket.SendAsync(output => new SaslInitialResponse("SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,n=,r=abc"u8.ToArray()).WriteTo(output));

        ErrorResponse error = await socket.ExpectErrorAsync(timeout.Token);
        Assert.Equal(ClientAuthOutcome.Failed, (await server).Outcome);
        Assert.Equal(ErrorSeverity.Fatal, error.Severity);
        Assert.Equal(SqlState.InvalidAuthorizationSpecification, error.SqlState);
        Assert.StartsWith("unsupported SASL mechanism", error.Message);
    }

    [Fact]
    public async Task A_malformed_scram_message_is_a_protocol_violation()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var socket = new SocketPipes();
        Task<ClientAuthResult> server = socket.AuthenticateAsync(AuthType.ScramSha256, Password, timeout.Token);

        await socket.ExpectRequestAsync(AuthenticationCode.Sasl, timeout.Token);
        await socket.SendAsync(output => new SaslInitialResponse(ScramServer.Mechanism, "nonsense"u8.ToArray()).WriteTo(output));

        ErrorResponse error = await socket.ExpectErrorAsync(timeout.Token);
        Assert.Equal(ClientAuthOutcome.Failed, (await server).Outcome);
        Assert.Equal(SqlState.ProtocolViolation, error.SqlState);
        Assert.Contains("SCRAM", error.Message);
    }

    [Theory]
    [MemberData(nameof(AllMethods))]
    public async Task No_error_response_ever_contains_a_password(AuthType method)
    {
        foreach (string stored in new[] { Password, ScramSecret.Create(Password, "0123456789abcdef"u8), Md5Password.CreateSecret(User, Password) })
        {
            Login login = await LoginAsync(method, stored, clientPassword: WrongPassword);

            string text = string.Join("\n", login.Error!.Fields.Select(field => field.Value));
            Assert.DoesNotContain(Password, text);
            Assert.DoesNotContain(WrongPassword, text);
            Assert.DoesNotContain(stored, text);
            Assert.DoesNotContain(Password, login.Result.Reason);
            Assert.DoesNotContain(WrongPassword, login.Result.Reason);
        }
    }

    private static void AssertAuthenticated(Login login)
    {
        Assert.Equal(ClientAuthOutcome.Authenticated, login.Result.Outcome);
        Assert.Null(login.Result.Reason);
        Assert.Null(login.Error);
        Assert.True(login.ClientDone);
        Assert.Equal(AuthenticationCode.Ok, login.Requests[^1]);
    }

    private static void AssertWrongPassword(Login login)
    {
        Assert.Equal(ClientAuthOutcome.Failed, login.Result.Outcome);
        Assert.False(login.ClientDone);
        Assert.NotNull(login.Error);
        Assert.Equal(ErrorSeverity.Fatal, login.Error.Severity);
        Assert.Equal(ErrorSeverity.Fatal, login.Error.SeverityNonLocalized);
        Assert.Equal(SqlState.InvalidPassword, login.Error.SqlState);
        Assert.Equal($"password authentication failed for user \"{User}\"", login.Error.Message);
        Assert.NotNull(login.Result.Reason);
    }

    /// <summary>Runs a whole login: the pooler's side against <see cref="ClientAuthenticator"/>.</summary>
    private static async Task<Login> LoginAsync(AuthType method, string? stored, string clientPassword)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var socket = new SocketPipes();
        var client = new ClientAuthenticator(User, clientPassword);
        var requests = new List<AuthenticationCode>();
        ErrorResponse? error = null;
        Task<ClientAuthResult> server = socket.AuthenticateAsync(method, stored, timeout.Token);

        while (true)
        {
            WireMessage message = await socket.ReadAsync(timeout.Token);
            if (message.Type == BackendMessageType.ErrorResponse)
            {
                error = ErrorResponse.Read(message.Payload);
                break;
            }

            Assert.Equal(BackendMessageType.Authentication, message.Type);
            requests.Add(AuthenticationRequest.ReadCode(message.Payload));
            if (client.Handle(message.Payload, socket.ClientOutput) == AuthStep.Done)
            {
                break;
            }

            await socket.ClientOutput.FlushAsync(timeout.Token);
        }

        ClientAuthResult result = await server;
        Assert.False(socket.ClientInput.TryRead(out _), "nothing may follow AuthenticationOk or the FATAL error");
        return new Login(result, requests, error, client.IsDone, client.Method);
    }

    private sealed record Login(
        ClientAuthResult Result, List<AuthenticationCode> Requests, ErrorResponse? Error, bool ClientDone, AuthenticationCode? ClientMethod);

    /// <summary>Two pipes as a client socket: the pooler reads what the client writes and the other way round.</summary>
    private sealed class SocketPipes
    {
        private readonly Pipe _toServer = new();
        private readonly Pipe _toClient = new();

        public PipeReader ServerInput => _toServer.Reader;
        public PipeWriter ServerOutput => _toClient.Writer;
        public PipeReader ClientInput => _toClient.Reader;
        public PipeWriter ClientOutput => _toServer.Writer;

        public Task<ClientAuthResult> AuthenticateAsync(AuthType method, string? stored, CancellationToken cancellationToken) =>
            ClientAuthentication.AuthenticateWithReasonAsync(
                ServerInput, ServerOutput, User, stored, method, MaxMessageSize, cancellationToken);

        public async Task<WireMessage> ReadAsync(CancellationToken cancellationToken)
        {
            WireMessage? message = await PipeMessages.ReadAsync(ClientInput, MaxMessageSize, cancellationToken);
            Assert.NotNull(message);
            return message.Value;
        }

        public async Task ExpectRequestAsync(AuthenticationCode code, CancellationToken cancellationToken)
        {
            WireMessage message = await ReadAsync(cancellationToken);
            Assert.Equal(BackendMessageType.Authentication, message.Type);
            Assert.Equal(code, AuthenticationRequest.ReadCode(message.Payload));
        }

        public async Task<ErrorResponse> ExpectErrorAsync(CancellationToken cancellationToken)
        {
            WireMessage message = await ReadAsync(cancellationToken);
            Assert.Equal(BackendMessageType.ErrorResponse, message.Type);
            return ErrorResponse.Read(message.Payload);
        }

        public async Task SendAsync(Action<PipeWriter> write)
        {
            write(ClientOutput);
            await ClientOutput.FlushAsync();
        }

        /// <summary>A frame with any payload, for messages the codec would refuse to build.</summary>
        public async Task SendRawAsync(byte type, byte[] payload)
        {
            await SendHeaderAsync(type, payload.Length + 4);
            await ClientOutput.WriteAsync(payload);
        }

        /// <summary>Just a message header: enough for the pooler to judge the declared length.</summary>
        public async Task SendHeaderAsync(byte type, int declaredLength)
        {
            var header = new byte[5];
            header[0] = type;
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(1), declaredLength);
            await ClientOutput.WriteAsync(header);
        }
    }
}
