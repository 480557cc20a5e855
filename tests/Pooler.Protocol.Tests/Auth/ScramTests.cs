using System.Text;
using Pooler.Protocol.Auth;

namespace Pooler.Protocol.Tests.Auth;

public sealed class ScramTests
{
    // RFC 7677 section 3.
    private const string ClientNonce = "rOprNGfwEbeRWgbNEkqO";
    private const string ServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    private const string Salt = "W22ZaJ0SNY7soEsUEjb6gQ==";
    private const string ClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    private const string ServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    private const string ClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    private const string ServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    [Fact]
    public void Client_produces_the_rfc_7677_messages()
    {
        var client = new ScramClient("pencil", ClientNonce, username: "user");

        Assert.Equal(ClientFirst, Text(client.CreateClientFirstMessage()));
        Assert.Equal(ClientFinal, Text(client.HandleServerFirst(Bytes(ServerFirst))));
        client.VerifyServerFinal(Bytes(ServerFinal));
        Assert.True(client.IsComplete);
    }

    [Fact]
    public void Server_produces_the_rfc_7677_messages()
    {
        ScramSecret secret = ScramSecret.FromPassword("pencil", Convert.FromBase64String(Salt), 4096);
        var server = new ScramServer(secret, ServerNonce);

        ScramServerResult first = server.HandleClientFirst(Bytes(ClientFirst));
        Assert.Equal(ScramServerStatus.Continue, first.Status);
        Assert.Equal(ServerFirst, Text(first.Message));

        ScramServerResult final = server.HandleClientFinal(Bytes(ClientFinal));
        Assert.Equal(ScramServerStatus.Success, final.Status);
        Assert.Equal(ServerFinal, Text(final.Message));
    }

    [Fact]
    public void Server_rejects_the_rfc_7677_proof_for_another_password()
    {
        ScramSecret secret = ScramSecret.FromPassword("pen", Convert.FromBase64String(Salt), 4096);
        var server = new ScramServer(secret, ServerNonce);
        server.HandleClientFirst(Bytes(ClientFirst));

        ScramServerResult final = server.HandleClientFinal(Bytes(ClientFinal));

        Assert.Equal(ScramServerStatus.WrongPassword, final.Status);
        Assert.Empty(final.Message);
    }

    [Fact]
    public void Client_and_server_agree_with_the_right_password()
    {
        Assert.Equal(ScramServerStatus.Success, Exchange("s3cret", ScramServer.ForPassword("s3cret")));
    }

    [Fact]
    public void Client_and_server_agree_against_a_stored_secret()
    {
        var secret = ScramSecret.Parse(ScramSecret.Create("s3cret", "0123456789abcdef"u8, 4096));

        Assert.Equal(ScramServerStatus.Success, Exchange("s3cret", new ScramServer(secret)));
    }

    [Fact]
    public void Wrong_password_fails_on_the_server()
    {
        Assert.Equal(ScramServerStatus.WrongPassword, Exchange("guess", ScramServer.ForPassword("s3cret")));
    }

    [Fact]
    public void Unknown_user_fails_only_at_the_end_like_a_wrong_password()
    {
        var client = new ScramClient("anything");
        ScramServer server = ScramServer.ForUnknownUser();

        ScramServerResult first = server.HandleClientFirst(client.CreateClientFirstMessage());
        Assert.Equal(ScramServerStatus.Continue, first.Status);
        Assert.Equal(ScramServerStatus.WrongPassword, server.HandleClientFinal(client.HandleServerFirst(first.Message)).Status);
    }

    [Fact]
    public void Client_rejects_a_server_that_does_not_know_the_password()
    {
        // The impostor accepts any proof; it can only sign with its own, wrong, ServerKey.
        var client = new ScramClient("s3cret");
        var impostor = new ScramServer(ScramSecret.FromPassword("other"));
        ScramServerResult first = impostor.HandleClientFirst(client.CreateClientFirstMessage());
        client.HandleServerFirst(first.Message);
        string forged = "v=" + Convert.ToBase64String(new byte[32]);

        Assert.Throws<AuthenticationFailedException>(() => client.VerifyServerFinal(Bytes(forged)));
        Assert.False(client.IsComplete);
    }

    [Fact]
    public void Client_reports_a_server_error_attribute()
    {
        var client = new ScramClient("pencil", ClientNonce, username: "user");
        client.CreateClientFirstMessage();
        client.HandleServerFirst(Bytes(ServerFirst));

        var ex = Assert.Throws<AuthenticationFailedException>(() => client.VerifyServerFinal(Bytes("e=invalid-proof")));
        Assert.Contains("invalid-proof", ex.Message);
    }

    [Fact]
    public void Client_rejects_a_server_nonce_that_does_not_extend_its_own()
    {
        var client = new ScramClient("pencil", ClientNonce);
        client.CreateClientFirstMessage();

        Assert.Throws<ProtocolViolationException>(() => client.HandleServerFirst(Bytes("r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")));
    }

    [Fact]
    public void Client_sends_no_channel_binding_and_an_empty_user_name_by_default()
    {
        var client = new ScramClient("pencil", ClientNonce);

        Assert.Equal("n,,n=,r=" + ClientNonce, Text(client.CreateClientFirstMessage()));
    }

    [Fact]
    public void Server_accepts_the_y_flag_because_it_offers_no_channel_binding()
    {
        ScramSecret secret = ScramSecret.FromPassword("pencil", Convert.FromBase64String(Salt), 4096);
        var server = new ScramServer(secret, ServerNonce);

        Assert.Equal(ScramServerStatus.Continue, server.HandleClientFirst(Bytes("y,,n=,r=abc")).Status);
        string finalWithoutProof = $"c={Convert.ToBase64String("y,,"u8)},r=abc{ServerNonce}";
        ScramServerResult result = server.HandleClientFinal(Bytes(finalWithoutProof + ",p=" + Convert.ToBase64String(new byte[32])));
        Assert.Equal(ScramServerStatus.WrongPassword, result.Status);
    }

    [Theory]
    [InlineData("p=tls-server-end-point,,n=,r=abc", "channel binding")]
    [InlineData("n,a=admin,n=,r=abc", "authorization identity")]
    [InlineData("x,,n=,r=abc", "channel binding flag")]
    [InlineData("n,,m=ext,n=,r=abc", "mandatory extensions")]
    [InlineData("n,,n=,x=abc", "expected n=<user>,r=<nonce>")]
    [InlineData("n,,n=,r=", "nonce")]
    [InlineData("", "channel binding flag")]
    public void Server_refuses_client_first_messages_it_cannot_honour(string clientFirst, string reason)
    {
        var server = new ScramServer(ScramSecret.FromPassword("pencil", Convert.FromBase64String(Salt), 4096));

        ScramServerResult result = server.HandleClientFirst(Bytes(clientFirst));

        Assert.Equal(ScramServerStatus.ProtocolViolation, result.Status);
        Assert.Contains(reason, result.Error);
    }

    [Theory]
    [InlineData("c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "channel binding")]
    [InlineData("c=biws,r=rOprNGfwEbeRWgbNEkqOwrong,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "nonce mismatch")]
    [InlineData("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA", "proof")]
    [InlineData("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", "expected c=")]
    public void Server_refuses_client_final_messages_that_break_the_rules(string clientFinal, string reason)
    {
        ScramSecret secret = ScramSecret.FromPassword("pencil", Convert.FromBase64String(Salt), 4096);
        var server = new ScramServer(secret, ServerNonce);
        server.HandleClientFirst(Bytes(ClientFirst));

        ScramServerResult result = server.HandleClientFinal(Bytes(clientFinal));

        Assert.Equal(ScramServerStatus.ProtocolViolation, result.Status);
        Assert.Contains(reason, result.Error);
    }

    [Fact]
    public void Steps_out_of_order_are_a_programming_error()
    {
        var server = new ScramServer(ScramSecret.FromPassword("x", "salt"u8, 1));

        Assert.Throws<InvalidOperationException>(() => server.HandleClientFinal(Bytes(ClientFinal)));
    }

    private static ScramServerStatus Exchange(string password, ScramServer server)
    {
        var client = new ScramClient(password);
        ScramServerResult first = server.HandleClientFirst(client.CreateClientFirstMessage());
        Assert.Equal(ScramServerStatus.Continue, first.Status);
        ScramServerResult final = server.HandleClientFinal(client.HandleServerFirst(first.Message));
        if (final.Status == ScramServerStatus.Success)
        {
            client.VerifyServerFinal(final.Message);
            Assert.True(client.IsComplete);
        }

        return final.Status;
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
