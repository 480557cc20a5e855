using Pooler.Core.Cluster;

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
    /// <summary>
    /// Set when this "server" is the relay to the node that owns the pool, not PostgreSQL: the
    /// connection logs in with the handshake and the cluster secret instead of a startup packet.
    /// </summary>
    public RelayHandshake? Relay { get; init; }

    /// <summary>The cluster secret that proves a relay handshake.</summary>
    public string? RelaySecret { get; init; }

    public bool IsRelay => Relay is not null;

    /// <summary>The shard (<c>[pools.&lt;name&gt;.shards.&lt;n&gt;]</c>) this server holds.</summary>
    public int Shard { get; init; }

    /// <summary>The server's place in its shard's <c>servers</c> list.</summary>
    public int Index { get; init; }

    /// <summary>Which of the pool's connection sets this belongs to: one per user and server.</summary>
    public string Key => ServerKey(PoolUser, Shard, Index);

    public static string ServerKey(string user, int shard, int index) => $"{user}/{shard}/{index}";

    // Keep the password out of logs.
    public override string ToString() => IsRelay ? $"relay to {Host}:{Port} for {Database}" : $"{User}@{Host}:{Port}/{Database}";
}

/// <summary>PostgreSQL refused the login, or could not be reached; the message says which.</summary>
public sealed class ServerLoginException(string sqlState, string message) : Exception(message)
{
    public string SqlState { get; } = sqlState;
}
