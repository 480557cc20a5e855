using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Pooler.Protocol.Auth;

/// <summary>
/// PostgreSQL's MD5 password scheme ("AuthenticationMD5Password" in "Message Formats"): the
/// stored secret is "md5" + hex(md5(password + user)); on the wire the client sends
/// "md5" + hex(md5(hex(md5(password + user)) + salt)) for the server's 4-byte salt.
/// </summary>
public static class Md5Password
{
    public const string Prefix = "md5";

    /// <summary>"md5" and 32 hex digits.</summary>
    public const int SecretLength = 35;

    /// <summary>What a client sends in PasswordMessage for AuthenticationMD5Password.</summary>
    public static string Hash(string user, string password, ReadOnlySpan<byte> salt) =>
        HashSecret(CreateSecret(user, password), salt);

    /// <summary>
    /// Like <see cref="Hash"/> from a stored "md5…" secret instead of the password: a pooler that
    /// only has the secret (an auth_query, a userlist) can still log in to an MD5 server.
    /// </summary>
    public static string HashSecret(string md5Secret, ReadOnlySpan<byte> salt)
    {
        if (!IsSecret(md5Secret))
        {
            throw new ArgumentException("Expected \"md5\" followed by 32 hex digits.", nameof(md5Secret));
        }

        if (salt.Length != AuthenticationRequest.Md5SaltLength)
        {
            throw new ArgumentException($"An MD5 salt is {AuthenticationRequest.Md5SaltLength} bytes.", nameof(salt));
        }

        Span<byte> input = stackalloc byte[32 + AuthenticationRequest.Md5SaltLength];
        Encoding.ASCII.GetBytes(md5Secret.AsSpan(Prefix.Length), input);
        salt.CopyTo(input.Slice(32));
        return Prefix + Convert.ToHexStringLower(MD5.HashData(input));
    }

    /// <summary>The secret PostgreSQL stores for password_encryption = md5.</summary>
    public static string CreateSecret(string user, string password) =>
        Prefix + Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(password + user)));

    public static bool IsSecret([NotNullWhen(true)] string? value)
    {
        if (value is null || value.Length != SecretLength || !value.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (char c in value.AsSpan(Prefix.Length))
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A fresh salt for AuthenticationMD5Password.</summary>
    public static byte[] CreateSalt() => RandomNumberGenerator.GetBytes(AuthenticationRequest.Md5SaltLength);

    /// <summary>
    /// Server side: checks the client's PasswordMessage against a plaintext password or a stored
    /// "md5…" secret. A SCRAM secret cannot answer MD5 (the hash is one-way), so it never matches.
    /// </summary>
    public static bool Verify(string clientResponse, string user, string storedPasswordOrSecret, ReadOnlySpan<byte> salt)
    {
        ArgumentNullException.ThrowIfNull(clientResponse);
        if (ScramSecret.LooksLikeSecret(storedPasswordOrSecret))
        {
            return false;
        }

        string secret = IsSecret(storedPasswordOrSecret)
            ? storedPasswordOrSecret.ToLowerInvariant()
            : CreateSecret(user, storedPasswordOrSecret);
        string expected = HashSecret(secret, salt);
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(clientResponse), Encoding.ASCII.GetBytes(expected));
    }
}
