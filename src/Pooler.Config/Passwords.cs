namespace Pooler.Config;

/// <summary>
/// Tells a password from a stored PostgreSQL secret, the way PostgreSQL itself does for
/// pg_authid.rolpassword: <c>md5</c> + 32 hex digits, or a <c>SCRAM-SHA-256$</c> string.
/// </summary>
public static class Passwords
{
    private const string ScramPrefix = "SCRAM-SHA-256$";

    public static PasswordKind Classify(string password) => TryClassify(password, out var kind, out _) ? kind : PasswordKind.Plain;

    /// <summary>
    /// False when the string starts like a SCRAM secret but is not one: taking it as a
    /// plaintext password would make every login fail with no hint why.
    /// </summary>
    internal static bool TryClassify(string password, out PasswordKind kind, out string problem)
    {
        problem = "";
        if (password.StartsWith(ScramPrefix, StringComparison.Ordinal))
        {
            kind = PasswordKind.ScramSha256;
            if (IsScramSecret(password))
                return true;
            problem = "starts like a SCRAM secret but is malformed; expected " +
                "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> as in pg_authid, or give the password itself";
            return false;
        }
        kind = IsMd5Secret(password) ? PasswordKind.Md5 : PasswordKind.Plain;
        return true;
    }

    private static bool IsMd5Secret(string password) =>
        password.Length == 35 && password.StartsWith("md5", StringComparison.Ordinal) && password.AsSpan(3).ContainsOnlyHex();

    private static bool IsScramSecret(string secret)
    {
        // SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> (PostgreSQL's scram_build_secret).
        var parts = secret[ScramPrefix.Length..].Split('$');
        if (parts.Length != 2)
            return false;
        var iterationsAndSalt = parts[0].Split(':');
        var keys = parts[1].Split(':');
        return iterationsAndSalt.Length == 2 && keys.Length == 2 &&
               int.TryParse(iterationsAndSalt[0], System.Globalization.NumberStyles.None, null, out var iterations) && iterations > 0 &&
               DecodedLength(iterationsAndSalt[1]) > 0 &&
               DecodedLength(keys[0]) == 32 && DecodedLength(keys[1]) == 32;
    }

    private static int DecodedLength(string base64)
    {
        var buffer = new byte[base64.Length];
        return Convert.TryFromBase64String(base64, buffer, out var written) ? written : -1;
    }
}

internal static class HexExtensions
{
    public static bool ContainsOnlyHex(this ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
                return false;
        }
        return true;
    }
}
