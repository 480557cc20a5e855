using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;

namespace Pooler.Protocol.Auth;

/// <summary>
/// A SCRAM-SHA-256 verifier as PostgreSQL stores it in pg_authid.rolpassword:
/// <c>SCRAM-SHA-256$&lt;iterations&gt;:&lt;base64 salt&gt;$&lt;base64 StoredKey&gt;:&lt;base64 ServerKey&gt;</c>.
/// It lets a server check a client without knowing the password.
/// </summary>
public sealed class ScramSecret
{
    /// <summary>PostgreSQL's default scram_iterations.</summary>
    public const int DefaultIterations = 4096;

    /// <summary>PostgreSQL's salt length (SCRAM_DEFAULT_SALT_LEN).</summary>
    public const int DefaultSaltLength = 16;

    private const string Prefix = ScramSha256.Mechanism + "$";

    private readonly byte[] _salt;
    private readonly byte[] _storedKey;
    private readonly byte[] _serverKey;

    public ScramSecret(int iterations, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> storedKey, ReadOnlySpan<byte> serverKey)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        if (salt.IsEmpty)
        {
            throw new ArgumentException("The salt cannot be empty.", nameof(salt));
        }

        if (storedKey.Length != ScramSha256.KeyLength || serverKey.Length != ScramSha256.KeyLength)
        {
            throw new ArgumentException($"StoredKey and ServerKey are {ScramSha256.KeyLength} bytes each.");
        }

        Iterations = iterations;
        _salt = salt.ToArray();
        _storedKey = storedKey.ToArray();
        _serverKey = serverKey.ToArray();
    }

    public int Iterations { get; }

    public ReadOnlySpan<byte> Salt => _salt;

    /// <summary>H(ClientKey): what a client proof is checked against.</summary>
    public ReadOnlySpan<byte> StoredKey => _storedKey;

    /// <summary>Signs the server-final-message, proving the server holds the secret.</summary>
    public ReadOnlySpan<byte> ServerKey => _serverKey;

    /// <summary>
    /// Derives the secret for <paramref name="password"/>. PBKDF2 at 4096 iterations takes
    /// milliseconds: derive once per password and keep the result, not once per login.
    /// </summary>
    public static ScramSecret FromPassword(string password, ReadOnlySpan<byte> salt, int iterations = DefaultIterations)
    {
        byte[] salted = ScramSha256.SaltedPassword(password, salt, iterations);
        byte[] clientKey = ScramSha256.ClientKey(salted);
        return new ScramSecret(iterations, salt, ScramSha256.StoredKey(clientKey), ScramSha256.ServerKey(salted));
    }

    /// <summary>Derives a secret with a fresh random salt.</summary>
    public static ScramSecret FromPassword(string password) =>
        FromPassword(password, RandomNumberGenerator.GetBytes(DefaultSaltLength));

    /// <summary>The stored-secret string for <paramref name="password"/>, as PostgreSQL would store it.</summary>
    public static string Create(string password, ReadOnlySpan<byte> salt, int iterations = DefaultIterations) =>
        FromPassword(password, salt, iterations).ToString();

    /// <summary>True when <paramref name="value"/> starts like a SCRAM secret (it may still be malformed).</summary>
    public static bool LooksLikeSecret([NotNullWhen(true)] string? value) =>
        value is not null && value.StartsWith(Prefix, StringComparison.Ordinal);

    /// <exception cref="FormatException">Not a well-formed SCRAM-SHA-256 secret.</exception>
    public static ScramSecret Parse(string value) =>
        TryParse(value, out ScramSecret? secret, out string? problem)
            ? secret
            : throw new FormatException($"Not a SCRAM-SHA-256 secret: {problem}.");

    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out ScramSecret? secret) =>
        TryParse(value, out secret, out _);

    public override string ToString() =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"{Prefix}{Iterations}:{Convert.ToBase64String(_salt)}${Convert.ToBase64String(_storedKey)}:{Convert.ToBase64String(_serverKey)}");

    private static bool TryParse(string? value, [NotNullWhen(true)] out ScramSecret? secret, out string? problem)
    {
        secret = null;
        if (!LooksLikeSecret(value))
        {
            problem = $"it does not start with {Prefix}";
            return false;
        }

        string[] parts = value.Substring(Prefix.Length).Split('$');
        string[] saltPart = parts[0].Split(':');
        string[] keyPart = parts.Length == 2 ? parts[1].Split(':') : [];
        if (parts.Length != 2 || saltPart.Length != 2 || keyPart.Length != 2)
        {
            problem = "expected <iterations>:<salt>$<StoredKey>:<ServerKey>";
            return false;
        }

        if (!int.TryParse(saltPart[0], NumberStyles.None, CultureInfo.InvariantCulture, out int iterations) || iterations < 1)
        {
            problem = $"iteration count \"{saltPart[0]}\" is not a positive integer";
            return false;
        }

        if (!ScramSha256.TryDecodeBase64(saltPart[1], out byte[] salt) || salt.Length == 0)
        {
            problem = "the salt is not base64";
            return false;
        }

        if (!ScramSha256.TryDecodeBase64(keyPart[0], out byte[] storedKey) || storedKey.Length != ScramSha256.KeyLength
            || !ScramSha256.TryDecodeBase64(keyPart[1], out byte[] serverKey) || serverKey.Length != ScramSha256.KeyLength)
        {
            problem = $"StoredKey and ServerKey must be base64 of {ScramSha256.KeyLength} bytes";
            return false;
        }

        problem = null;
        secret = new ScramSecret(iterations, salt, storedKey, serverKey);
        return true;
    }
}
