namespace Pooler.Config;

/// <summary>
/// The spelling of each enum value in the TOML file, in one place so that parsing, error
/// messages ("must be one of …") and the host's logs agree.
/// </summary>
public static class ConfigNames
{
    internal static readonly Choices<PoolMode> PoolModes = new(
        ("transaction", PoolMode.Transaction),
        ("session", PoolMode.Session),
        ("statement", PoolMode.Statement));

    internal static readonly Choices<DefaultRole> DefaultRoles = new(
        ("any", DefaultRole.Any),
        ("primary", DefaultRole.Primary),
        ("replica", DefaultRole.Replica));

    internal static readonly Choices<ServerRole> ServerRoles = new(
        ("primary", ServerRole.Primary),
        ("replica", ServerRole.Replica));

    // PgCat accepts "loc" and its long form; both are kept so existing files load.
    internal static readonly Choices<LoadBalancingMode> LoadBalancingModes = new(
        ("random", LoadBalancingMode.Random),
        ("loc", LoadBalancingMode.LeastOutstandingConnections),
        ("least_outstanding_connections", LoadBalancingMode.LeastOutstandingConnections));

    internal static readonly Choices<ShardingFunction> ShardingFunctions = new(
        ("pg_bigint_hash", ShardingFunction.PgBigintHash),
        ("sha1", ShardingFunction.Sha1));

    // "cleartext" is PgBouncer's word for the same method; "password" is pg_hba.conf's.
    internal static readonly Choices<AuthType> AuthTypes = new(
        ("scram-sha-256", AuthType.ScramSha256),
        ("md5", AuthType.Md5),
        ("plain", AuthType.Plain),
        ("cleartext", AuthType.Plain),
        ("password", AuthType.Plain));

    public static string ToConfigName(this PoolMode value) => PoolModes.NameOf(value);

    public static string ToConfigName(this DefaultRole value) => DefaultRoles.NameOf(value);

    public static string ToConfigName(this ServerRole value) => ServerRoles.NameOf(value);

    public static string ToConfigName(this LoadBalancingMode value) => LoadBalancingModes.NameOf(value);

    public static string ToConfigName(this ShardingFunction value) => ShardingFunctions.NameOf(value);

    public static string ToConfigName(this AuthType value) => AuthTypes.NameOf(value);
}

/// <summary>The accepted spellings of one enum; the first spelling of a value is its canonical name.</summary>
internal sealed class Choices<T>(params (string Name, T Value)[] choices) where T : struct, Enum
{
    public bool TryParse(string text, out T value)
    {
        foreach (var (name, candidate) in choices)
        {
            // PgCat's serde aliases accept "Transaction" as well as "transaction".
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
            {
                value = candidate;
                return true;
            }
        }
        value = default;
        return false;
    }

    public string NameOf(T value)
    {
        foreach (var (name, candidate) in choices)
        {
            if (EqualityComparer<T>.Default.Equals(candidate, value))
                return name;
        }
        return value.ToString();
    }

    /// <summary>"\"a\", \"b\", \"c\"": every accepted spelling, for error messages.</summary>
    public string Allowed => string.Join(", ", choices.Select(c => $"\"{c.Name}\""));
}
