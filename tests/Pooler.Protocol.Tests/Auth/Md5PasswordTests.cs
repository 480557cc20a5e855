using Pooler.Protocol.Auth;

namespace Pooler.Protocol.Tests.Auth;

public sealed class Md5PasswordTests
{
    // Cross-checked with Python: 'md5' + md5(md5(b'secretpostgres').hexdigest().encode() + bytes([1,2,3,4])).hexdigest()
    private const string Secret = "md553f48b7c4b76a86ce72276c5755f217d";
    private const string Hashed = "md5bb41a296aab6baccb36ff243a562abff";
    private static readonly byte[] Salt = [1, 2, 3, 4];

    [Fact]
    public void Secret_is_md5_of_password_then_user()
    {
        Assert.Equal(Secret, Md5Password.CreateSecret("postgres", "secret"));
    }

    [Fact]
    public void Hash_for_postgres_secret_matches_the_known_value()
    {
        Assert.Equal(Hashed, Md5Password.Hash("postgres", "secret", Salt));
    }

    [Fact]
    public void Hash_from_the_stored_secret_equals_hash_from_the_password()
    {
        Assert.Equal(Hashed, Md5Password.HashSecret(Secret, Salt));
    }

    [Fact]
    public void Server_verifies_against_a_plaintext_password()
    {
        Assert.True(Md5Password.Verify(Hashed, "postgres", "secret", Salt));
    }

    [Fact]
    public void Server_verifies_against_a_stored_md5_secret()
    {
        Assert.True(Md5Password.Verify(Hashed, "postgres", Secret, Salt));
        Assert.True(Md5Password.Verify(Hashed, "postgres", Secret.ToUpperInvariant().Replace("MD5", "md5"), Salt));
    }

    [Fact]
    public void Wrong_password_wrong_user_or_wrong_salt_fails()
    {
        Assert.False(Md5Password.Verify(Md5Password.Hash("postgres", "guess", Salt), "postgres", "secret", Salt));
        Assert.False(Md5Password.Verify(Md5Password.Hash("alice", "secret", Salt), "postgres", "secret", Salt));
        Assert.False(Md5Password.Verify(Hashed, "postgres", "secret", [4, 3, 2, 1]));
        Assert.False(Md5Password.Verify("", "postgres", "secret", Salt));
    }

    [Fact]
    public void A_scram_secret_cannot_answer_md5()
    {
        string scram = ScramSecret.Create("secret", "0123456789abcdef"u8);

        Assert.False(Md5Password.Verify(Hashed, "postgres", scram, Salt));
    }

    [Fact]
    public void Round_trip_with_a_fresh_salt()
    {
        byte[] salt = Md5Password.CreateSalt();

        Assert.Equal(4, salt.Length);
        Assert.True(Md5Password.Verify(Md5Password.Hash("bob", "hunter2", salt), "bob", "hunter2", salt));
    }

    [Theory]
    [InlineData("md553f48b7c4b76a86ce72276c5755f217d", true)]
    [InlineData("md553f48b7c4b76a86ce72276c5755f217", false)]
    [InlineData("md553f48b7c4b76a86ce72276c5755f217g", false)]
    [InlineData("secret", false)]
    public void Secret_shape_is_recognized(string value, bool expected)
    {
        Assert.Equal(expected, Md5Password.IsSecret(value));
    }
}
