using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Pooler.Protocol.Auth;

/// <summary>
/// Prepares a password for SCRAM the way PostgreSQL does (RFC 4013 SASLprep, applied by
/// pg_saslprep): ASCII passwords are used as they are; otherwise non-ASCII spaces map to
/// U+0020, "mapped to nothing" characters are dropped, the result is NFKC-normalized and checked
/// for prohibited characters. Where the rules reject a password, PostgreSQL falls back to the
/// raw UTF-8 bytes, and so does this.
/// </summary>
/// <remarks>
/// Not handled: (1) NFKC needs ICU, which Pooler's invariant-globalization build does not load,
/// so there <see cref="string.Normalize(NormalizationForm)"/> leaves non-ASCII text unchanged: a
/// password whose NFKC form differs (ligatures, full-width or other compatibility characters,
/// decomposed accents) will not match a secret PostgreSQL computed. (2) The bidirectional-text
/// check and the unassigned-code-point check. ASCII passwords, the common case, are exact.
/// </remarks>
public static class SaslPrep
{
    // RFC 3454 table C.1.2.
    private static readonly (int First, int Last)[] NonAsciiSpaces =
    [
        (0x00A0, 0x00A0), (0x1680, 0x1680), (0x2000, 0x200B), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000),
    ];

    // RFC 3454 table B.1.
    private static readonly (int First, int Last)[] MappedToNothing =
    [
        (0x00AD, 0x00AD), (0x034F, 0x034F), (0x1806, 0x1806), (0x180B, 0x180D), (0x200B, 0x200D),
        (0x2060, 0x2060), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    ];

    // RFC 3454 tables C.2.1, C.2.2, C.3, C.4, C.6, C.7, C.8, C.9 (C.5 surrogates cannot occur in a Rune).
    private static readonly (int First, int Last)[] Prohibited =
    [
        (0x0000, 0x001F), (0x007F, 0x009F), (0x0340, 0x0341), (0x06DD, 0x06DD), (0x070F, 0x070F),
        (0x180E, 0x180E), (0x200C, 0x200F), (0x2028, 0x202E), (0x2060, 0x2063), (0x206A, 0x206F),
        (0x2FF0, 0x2FFB), (0xE000, 0xF8FF), (0xFDD0, 0xFDEF), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFF),
        (0x1D173, 0x1D17A), (0x1FFFE, 0x1FFFF), (0x2FFFE, 0x2FFFF), (0x3FFFE, 0x3FFFF), (0x4FFFE, 0x4FFFF),
        (0x5FFFE, 0x5FFFF), (0x6FFFE, 0x6FFFF), (0x7FFFE, 0x7FFFF), (0x8FFFE, 0x8FFFF), (0x9FFFE, 0x9FFFF),
        (0xAFFFE, 0xAFFFF), (0xBFFFE, 0xBFFFF), (0xCFFFE, 0xCFFFF), (0xDFFFE, 0xDFFFF), (0xE0001, 0xE0001),
        (0xE0020, 0xE007F), (0xEFFFE, 0xEFFFF), (0xF0000, 0xFFFFF), (0x100000, 0x10FFFF),
    ];

    /// <summary>The bytes to feed PBKDF2 for <paramref name="password"/>.</summary>
    public static byte[] Normalize(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (Ascii.IsValid(password))
        {
            return Encoding.ASCII.GetBytes(password);
        }

        return TryPrepare(password, out string? prepared)
            ? Encoding.UTF8.GetBytes(prepared)
            : Encoding.UTF8.GetBytes(password);
    }

    private static bool TryPrepare(string password, [NotNullWhen(true)] out string? prepared)
    {
        prepared = null;
        var mapped = new StringBuilder(password.Length);
        foreach (Rune rune in password.EnumerateRunes())
        {
            // A lone surrogate decodes as U+FFFD, which is prohibited anyway (C.6): use the raw bytes.
            if (rune == Rune.ReplacementChar)
            {
                return false;
            }

            if (In(NonAsciiSpaces, rune.Value))
            {
                mapped.Append(' ');
            }
            else if (!In(MappedToNothing, rune.Value))
            {
                mapped.Append(rune.ToString());
            }
        }

        string normalized;
        try
        {
            normalized = mapped.ToString().Normalize(NormalizationForm.FormKC);
        }
        catch (ArgumentException)
        {
            return false;
        }

        foreach (Rune rune in normalized.EnumerateRunes())
        {
            if (In(Prohibited, rune.Value))
            {
                return false;
            }
        }

        prepared = normalized;
        return true;
    }

    private static bool In((int First, int Last)[] table, int value)
    {
        foreach ((int first, int last) in table)
        {
            if (value >= first && value <= last)
            {
                return true;
            }
        }

        return false;
    }
}
