using System.Text;
using Pooler.Protocol.Auth;

namespace Pooler.Protocol.Tests.Auth;

public sealed class SaslPrepTests
{
    [Theory]
    [InlineData("pencil")]
    [InlineData("p a s s")]
    [InlineData("tab\there")]
    public void Ascii_passwords_are_used_unchanged(string password)
    {
        Assert.Equal(Encoding.ASCII.GetBytes(password), SaslPrep.Normalize(password));
    }

    [Fact]
    public void Non_ascii_spaces_become_plain_spaces()
    {
        Assert.Equal("a b"u8.ToArray(), SaslPrep.Normalize("a\u00A0b"));
        Assert.Equal("a b c"u8.ToArray(), SaslPrep.Normalize("a\u3000b\u2003c"));
    }

    [Fact]
    public void Characters_mapped_to_nothing_are_dropped()
    {
        Assert.Equal("IX"u8.ToArray(), SaslPrep.Normalize("I\u00ADX"));
    }

    [Fact]
    public void Ordinary_non_ascii_letters_are_kept()
    {
        Assert.Equal(Encoding.UTF8.GetBytes("pässwörd"), SaslPrep.Normalize("pässwörd"));
    }

    [Fact]
    public void Prohibited_characters_fall_back_to_the_raw_bytes_as_postgres_does()
    {
        Assert.Equal(Encoding.UTF8.GetBytes("é\u0007"), SaslPrep.Normalize("é\u0007"));
        Assert.Equal(Encoding.UTF8.GetBytes("é\uE000"), SaslPrep.Normalize("é\uE000"));
    }
}
