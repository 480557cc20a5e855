using Pooler.Protocol.Auth;

namespace Pooler.Protocol.Tests.Auth;

/// <summary>The authenticator against a server simulated with this library's own server-side pieces.</summary>
public sealed class ClientAuthenticatorTests
{
    [Fact]
    public void Trust_authentication_is_done_at_the_first_ok()
    {
        var auth = new ClientAuthenticator("alice", password: null);

        Assert.Equal(AuthStep.Done, Feed(auth, AuthenticationRequest.Ok, out byte[] reply));
        Assert.Empty(reply);
        Assert.True(auth.IsDone);
        Assert.Equal(AuthenticationCode.Ok, auth.Method);
    }

    [Fact]
    public void Cleartext_request_is_answered_with_the_password()
    {
        var auth = new ClientAuthenticator("alice", "s3cret");

        Assert.Equal(AuthStep.Continue, Feed(auth, AuthenticationRequest.CleartextPassword, out byte[] reply));
        (byte type, byte[] payload) = Wire.Single(reply);
        Assert.Equal(FrontendMessageType.Password, type);
        Assert.Equal("s3cret", PasswordMessage.Read(payload).Password);
        Assert.Equal(AuthStep.Done, Feed(auth, AuthenticationRequest.Ok, out _));
        Assert.Equal(AuthenticationCode.CleartextPassword, auth.Method);
    }

    [Fact]
    public void Md5_request_is_answered_with_a_hash_the_server_accepts()
    {
        byte[] salt = Md5Password.CreateSalt();
        var auth = new ClientAuthenticator("alice", "s3cret");

        Feed(auth, AuthenticationRequest.Md5Password(salt), out byte[] reply);
        string answer = PasswordMessage.Read(Wire.Single(reply).Payload).Password;

        Assert.True(Md5Password.Verify(answer, "alice", "s3cret", salt));
        Assert.Equal(AuthStep.Done, Feed(auth, AuthenticationRequest.Ok, out _));
    }

    [Fact]
    public void Md5_request_with_a_wrong_password_gives_a_hash_the_server_refuses()
    {
        byte[] salt = Md5Password.CreateSalt();
        var auth = new ClientAuthenticator("alice", "guess");

        Feed(auth, AuthenticationRequest.Md5Password(salt), out byte[] reply);

        Assert.False(Md5Password.Verify(PasswordMessage.Read(Wire.Single(reply).Payload).Password, "alice", "s3cret", salt));
    }

    [Fact]
    public void Md5_request_can_be_answered_from_a_stored_md5_secret()
    {
        byte[] salt = Md5Password.CreateSalt();
        var auth = new ClientAuthenticator("alice", Md5Password.CreateSecret("alice", "s3cret"));

        Feed(auth, AuthenticationRequest.Md5Password(salt), out byte[] reply);

        Assert.True(Md5Password.Verify(PasswordMessage.Read(Wire.Single(reply).Payload).Password, "alice", "s3cret", salt));
    }

    [Fact]
    public void Scram_exchange_completes_against_a_scram_server()
    {
        var server = new ScramServer(ScramSecret.FromPassword("s3cret"));
        var auth = new ClientAuthenticator("alice", "s3cret", scramClientNonce: "fixednonce");

        Assert.Equal(AuthStep.Continue, Feed(auth, AuthenticationRequest.Sasl("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"), out byte[] initial));
        SaslInitialResponse initialResponse = SaslInitialResponse.Read(Wire.Single(initial).Payload);
        Assert.Equal("SCRAM-SHA-256", initialResponse.Mechanism);
        Assert.Equal("n,,n=,r=fixednonce"u8.ToArray(), initialResponse.Data);

        ScramServerResult first = server.HandleClientFirst(initialResponse.Data);
        Assert.Equal(AuthStep.Continue, Feed(auth, AuthenticationRequest.SaslContinue(first.Message), out byte[] response));

        ScramServerResult final = server.HandleClientFinal(SaslResponse.Read(Wire.Single(response).Payload).Data);
        Assert.Equal(ScramServerStatus.Success, final.Status);
        Assert.Equal(AuthStep.Continue, Feed(auth, AuthenticationRequest.SaslFinal(final.Message), out byte[] nothing));
        Assert.Empty(nothing);
        Assert.Equal(AuthStep.Done, Feed(auth, AuthenticationRequest.Ok, out _));
        Assert.Equal(AuthenticationCode.Sasl, auth.Method);
    }

    [Fact]
    public void Scram_exchange_with_a_wrong_password_is_refused_by_the_server()
    {
        var server = new ScramServer(ScramSecret.FromPassword("s3cret"));
        var auth = new ClientAuthenticator("alice", "guess");

        Feed(auth, AuthenticationRequest.Sasl("SCRAM-SHA-256"), out byte[] initial);
        ScramServerResult first = server.HandleClientFirst(SaslInitialResponse.Read(Wire.Single(initial).Payload).Data);
        Feed(auth, AuthenticationRequest.SaslContinue(first.Message), out byte[] response);

        Assert.Equal(ScramServerStatus.WrongPassword, server.HandleClientFinal(SaslResponse.Read(Wire.Single(response).Payload).Data).Status);
    }

    [Fact]
    public void Ok_before_the_server_proves_itself_in_sasl_final_is_refused()
    {
        var server = new ScramServer(ScramSecret.FromPassword("s3cret"));
        var auth = new ClientAuthenticator("alice", "s3cret");
        Feed(auth, AuthenticationRequest.Sasl("SCRAM-SHA-256"), out byte[] initial);
        ScramServerResult first = server.HandleClientFirst(SaslInitialResponse.Read(Wire.Single(initial).Payload).Data);
        Feed(auth, AuthenticationRequest.SaslContinue(first.Message), out _);

        Assert.Throws<AuthenticationFailedException>(() => Feed(auth, AuthenticationRequest.Ok, out _));
    }

    [Fact]
    public void Sasl_without_scram_sha_256_is_refused()
    {
        var auth = new ClientAuthenticator("alice", "s3cret");

        var ex = Assert.Throws<AuthenticationFailedException>(() => Feed(auth, AuthenticationRequest.Sasl("OAUTHBEARER"), out _));
        Assert.Contains("OAUTHBEARER", ex.Message);
    }

    [Fact]
    public void Password_request_without_a_configured_password_is_refused()
    {
        var auth = new ClientAuthenticator("alice", password: null);

        var ex = Assert.Throws<AuthenticationFailedException>(() => Feed(auth, AuthenticationRequest.CleartextPassword, out _));
        Assert.Contains("no password is configured", ex.Message);
    }

    [Fact]
    public void Gssapi_is_refused_with_a_message_naming_it()
    {
        var auth = new ClientAuthenticator("alice", "s3cret");

        var ex = Assert.Throws<AuthenticationFailedException>(() => auth.Handle([0, 0, 0, 7], new ArrayBufferWriter<byte>()));
        Assert.Contains("Gss", ex.Message);
    }

    [Fact]
    public void Sasl_continue_before_sasl_is_a_protocol_violation()
    {
        var auth = new ClientAuthenticator("alice", "s3cret");

        Assert.Throws<ProtocolViolationException>(() => Feed(auth, AuthenticationRequest.SaslContinue("r=x,s=eA==,i=1"u8), out _));
    }

    [Fact]
    public void Handling_after_done_is_a_programming_error()
    {
        var auth = new ClientAuthenticator("alice", null);
        Feed(auth, AuthenticationRequest.Ok, out _);

        Assert.Throws<InvalidOperationException>(() => Feed(auth, AuthenticationRequest.Ok, out _));
    }

    private static AuthStep Feed(ClientAuthenticator auth, AuthenticationRequest request, out byte[] reply)
    {
        (byte type, byte[] payload) = Wire.Single(Wire.Bytes(request.WriteTo));
        Assert.Equal(BackendMessageType.Authentication, type);
        var output = new ArrayBufferWriter<byte>();
        AuthStep step = auth.Handle(payload, output);
        reply = output.WrittenSpan.ToArray();
        return step;
    }
}
