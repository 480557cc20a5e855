using System.Security.Cryptography;
using System.Text;

namespace Pooler.Protocol.Auth;

/// <summary>
/// The key derivations of SCRAM-SHA-256 (RFC 5802 section 3, RFC 7677), shared by client,
/// server and the stored-secret format.
/// </summary>
internal static class ScramSha256
{
    public const string Mechanism = "SCRAM-SHA-256";

    /// <summary>SHA-256 output size: every key, signature and proof is this long.</summary>
    public const int KeyLength = 32;

    /// <summary>18 random bytes, 24 base64 characters: the nonce length libpq and PostgreSQL use.</summary>
    public const int NonceBytes = 18;

    /// <summary>SaltedPassword = Hi(Normalize(password), salt, i), where Hi is PBKDF2 with HMAC-SHA-256.</summary>
    public static byte[] SaltedPassword(string password, ReadOnlySpan<byte> salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(SaslPrep.Normalize(password), salt, iterations, HashAlgorithmName.SHA256, KeyLength);

    public static byte[] ClientKey(byte[] saltedPassword) => HMACSHA256.HashData(saltedPassword, "Client Key"u8);

    public static byte[] ServerKey(byte[] saltedPassword) => HMACSHA256.HashData(saltedPassword, "Server Key"u8);

    public static byte[] StoredKey(byte[] clientKey) => SHA256.HashData(clientKey);

    public static byte[] Hmac(ReadOnlySpan<byte> key, string message) =>
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(message));

    public static byte[] Xor(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var result = new byte[a.Length];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = (byte)(a[i] ^ b[i]);
        }

        return result;
    }

    public static string NewNonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(NonceBytes));

    /// <summary>RFC 5802 "printable": 0x21..0x7E except ','. Anything else could break attribute parsing.</summary>
    public static bool IsValidNonce(string nonce)
    {
        if (nonce.Length == 0)
        {
            return false;
        }

        foreach (char c in nonce)
        {
            if (c is < (char)0x21 or > (char)0x7E or ',')
            {
                return false;
            }
        }

        return true;
    }

    public static bool TryDecodeBase64(string text, out byte[] bytes)
    {
        bytes = new byte[(text.Length * 3 / 4) + 3];
        if (Convert.TryFromBase64String(text, bytes, out int written))
        {
            Array.Resize(ref bytes, written);
            return true;
        }

        bytes = [];
        return false;
    }
}
