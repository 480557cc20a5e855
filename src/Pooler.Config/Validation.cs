using System.Text;
using System.Text.RegularExpressions;

namespace Pooler.Config;

/// <summary>Checks shared by several sections: names PostgreSQL will accept, and listeners that would collide.</summary>
internal static partial class Validation
{
    /// <summary>PostgreSQL truncates identifiers to NAMEDATALEN - 1 = 63 bytes.</summary>
    public const int MaxIdentifierBytes = 63;

    public static bool FitsIdentifier(string name) => Encoding.UTF8.GetByteCount(name) <= MaxIdentifierBytes;

    public static string TooLong(string what) =>
        $"{what} is longer than {MaxIdentifierBytes} bytes; PostgreSQL would truncate it, so a client could never name it";

    public static bool IsWildcard(string host) => host is "0.0.0.0" or "::" or "*" or "[::]";

    /// <summary>Two listeners on these hosts could fight over a port (same address, or either binds every address).</summary>
    public static bool HostsOverlap(string a, string b) =>
        IsWildcard(a) || IsWildcard(b) || string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    /// <summary>Akka.NET actor system names: letters and digits, then also '-' and '_'.</summary>
    public static bool IsActorSystemName(string name) => ActorSystemName().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]*$")]
    private static partial Regex ActorSystemName();

    /// <summary>A host name or address: no spaces, no URL parts.</summary>
    public static bool IsHostName(string host) =>
        host.Length > 0 && !host.Any(c => char.IsWhiteSpace(c) || c is '/' or '@' or '?' or '#');
}
