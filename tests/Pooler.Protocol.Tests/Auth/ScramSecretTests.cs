using Pooler.Protocol.Auth;

namespace Pooler.Protocol.Tests.Auth;

public sealed class ScramSecretTests
{
    // Computed independently with Python's hashlib.pbkdf2_hmac / hmac for password "secret".
    private const string PythonSecret =
        "SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$bpSY5Ze9NUH+I35LC3gVq+DpBfK46iXBxvhAKqVu9pE=:VpYlBuxyzeCI1KnctrefdljpB1mk3Gp7sBI/t11+NkQ=";

    [Fact]
    public void Create_matches_an_independently_computed_secret()
    {
        Assert.Equal(PythonSecret, ScramSecret.Create("secret", "0123456789abcdef"u8, 4096));
    }

    [Fact]
    public void Rfc_7677_password_gives_the_documented_keys()
    {
        ScramSecret secret = ScramSecret.FromPassword("pencil", Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);

        // StoredKey and ServerKey for RFC 7677's example, as PostgreSQL would store them.
        Assert.Equal(
            "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
            secret.ToString());
    }

    [Fact]
    public void Parse_reads_every_part_of_a_postgres_secret()
    {
        ScramSecret secret = ScramSecret.Parse(PythonSecret);

        Assert.Equal(4096, secret.Iterations);
        Assert.Equal("0123456789abcdef"u8.ToArray(), secret.Salt.ToArray());
        Assert.Equal(32, secret.StoredKey.Length);
        Assert.Equal(32, secret.ServerKey.Length);
        Assert.Equal(PythonSecret, secret.ToString());
    }

    [Fact]
    public void Parse_reads_a_secret_with_other_iterations_and_salt_length()
    {
        string text = ScramSecret.Create("pw", new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 10000);

        Assert.StartsWith("SCRAM-SHA-256$10000:AQIDBAUGBwgJCg==$", text);
        Assert.Equal(10000, ScramSecret.Parse(text).Iterations);
    }

    [Fact]
    public void Random_salt_secrets_differ_but_both_verify()
    {
        ScramSecret a = ScramSecret.FromPassword("pw");
        ScramSecret b = ScramSecret.FromPassword("pw");

        Assert.NotEqual(a.ToString(), b.ToString());
        Assert.Equal(ScramSecret.DefaultSaltLength, a.Salt.Length);
        Assert.Equal(ScramSecret.DefaultIterations, a.Iterations);
    }

    [Theory]
    [InlineData("md5c8f0a3c1e8b1c2a7d0a6f3c4b2e1d0f9")]
    [InlineData("SCRAM-SHA-256$4096:c2FsdA==$AAAA:AAAA")]
    [InlineData("SCRAM-SHA-256$0:c2FsdA==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")]
    [InlineData("SCRAM-SHA-256$x:c2FsdA==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")]
    [InlineData("SCRAM-SHA-256$4096:!!$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")]
    [InlineData("SCRAM-SHA-256$4096:c2FsdA==")]
    [InlineData("SCRAM-SHA-256$4096:c2FsdA==$a:b$c")]
    public void Malformed_secrets_are_refused(string text)
    {
        Assert.False(ScramSecret.TryParse(text, out _));
        Assert.Throws<FormatException>(() => ScramSecret.Parse(text));
    }
}
