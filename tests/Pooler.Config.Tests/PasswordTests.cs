namespace Pooler.Config.Tests;

/// <summary>Passwords may be given as PostgreSQL stores them; the kind is detected.</summary>
public sealed class PasswordTests
{
    private const string Scram =
        "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0$Dz6Dp1PCH2Vxc5F56vf4Tr8y0sVTBZBZQ1sX6W2cxKk=:6rriTpLaaN5JhwBqSgsoj9ueWQbBbpGVQS1tXvPjzEw=";

    private static string WithPassword(string password) =>
        TestConfigs.Minimal.Replace("password = \"secret\"", $"password = \"{password}\"", StringComparison.Ordinal);

    [Theory]
    [InlineData("secret", PasswordKind.Plain)]
    [InlineData("md5a3556571e93b0d20722ba62be61e8c2d", PasswordKind.Md5)]
    [InlineData("md5-not-a-hash", PasswordKind.Plain)]
    [InlineData(Scram, PasswordKind.ScramSha256)]
    public void The_password_kind_is_detected(string password, PasswordKind kind)
    {
        Assert.Equal(kind, Passwords.Classify(password));
    }

    [Fact]
    public void A_SCRAM_secret_loads_and_keeps_its_text()
    {
        var user = TestConfigs.Load(WithPassword(Scram)).Pools[0].Users[0];

        Assert.Equal(Scram, user.Password);
        Assert.Equal(PasswordKind.ScramSha256, user.PasswordKind);
        Assert.Equal(PasswordKind.ScramSha256, user.ServerPasswordKind);
    }

    [Fact]
    public void A_malformed_SCRAM_secret_is_an_error()
    {
        var error = TestConfigs.Fails(WithPassword("SCRAM-SHA-256$4096:c2FsdA==$oops"));

        Assert.Equal("pools.app.users.0.password", error.Key);
        Assert.Equal(6, error.Line);
        Assert.Contains("starts like a SCRAM secret but is malformed", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("oops", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_MD5_secret_with_SCRAM_authentication_is_an_error()
    {
        var error = TestConfigs.Fails(WithPassword("md5a3556571e93b0d20722ba62be61e8c2d"));

        Assert.Equal("pools.app.users.0.password", error.Key);
        Assert.Contains("an MD5 secret cannot check a SCRAM-SHA-256 login", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_MD5_secret_with_MD5_authentication_loads()
    {
        var toml = WithPassword("md5a3556571e93b0d20722ba62be61e8c2d").Replace("pool_size = 1", "pool_size = 1\nauth_type = \"md5\"", StringComparison.Ordinal);

        var user = TestConfigs.Load(toml).Pools[0].Users[0];

        Assert.Equal(AuthType.Md5, user.AuthType);
        Assert.Equal(PasswordKind.Md5, user.PasswordKind);
    }

    [Fact]
    public void Users_inherit_the_general_auth_type()
    {
        var config = TestConfigs.Load("[general]\nauth_type = \"cleartext\"\n" + TestConfigs.Minimal);

        Assert.Equal(AuthType.Plain, config.General.AuthType);
        Assert.Equal(AuthType.Plain, config.General.AdminAuthType);
        Assert.Equal(AuthType.Plain, config.Pools[0].Users[0].AuthType);
    }

    [Fact]
    public void Trust_authentication_is_refused_with_the_allowed_methods()
    {
        var error = TestConfigs.FailsWith("[general]\nauth_type = \"trust\"");

        Assert.EndsWith("general.auth_type: must be one of \"scram-sha-256\", \"md5\", \"plain\", \"cleartext\", \"password\", got \"trust\"",
            error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_admin_username_without_a_password_is_an_error()
    {
        var error = TestConfigs.FailsWith("[general]\nadmin_username = \"admin\"");

        Assert.Equal(TestConfigs.FirstExtraLine, error.Line);
        Assert.Equal("general.admin_password", error.Key);
        Assert.Contains("set admin_password too", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tls_certificate_without_a_key_is_an_error()
    {
        var error = TestConfigs.FailsWith("[general]\ntls_certificate = \"server.crt\"");

        Assert.Equal("general.tls_private_key", error.Key);
    }

    [Fact]
    public void Tls_files_are_kept_as_given()
    {
        var config = TestConfigs.LoadWith("[general]\ntls_certificate = \"server.crt\"\ntls_private_key = \"server.key\"");

        Assert.True(config.General.ClientTlsEnabled);
        Assert.Equal("server.crt", config.General.TlsCertificate);
        Assert.Equal("server.key", config.General.TlsPrivateKey);
    }
}
