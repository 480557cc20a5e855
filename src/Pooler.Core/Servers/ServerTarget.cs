namespace Pooler.Core.Servers;

/// <summary>
/// Everything needed to open one PostgreSQL backend connection, and which user's pool
/// (<paramref name="PoolUser"/>, the name clients log in with) it belongs to.
/// </summary>
public sealed record ServerTarget(
    string PoolUser,
    string Host,
    int Port,
    string Database,
    string User,
    string? Password,
    TimeSpan ConnectTimeout,
    int MaxMessageSize)
{
    // Keep the password out of logs.
    public override string ToString() => $"{User}@{Host}:{Port}/{Database}";
}

/// <summary>PostgreSQL refused the login, or could not be reached; the message says which.</summary>
public sealed class ServerLoginException(string sqlState, string message) : Exception(message)
{
    public string SqlState { get; } = sqlState;
}
