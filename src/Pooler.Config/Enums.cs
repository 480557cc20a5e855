namespace Pooler.Config;

/// <summary>When a server connection goes back to its pool (PgBouncer's and PgCat's pool_mode).</summary>
public enum PoolMode
{
    /// <summary>After each transaction: ReadyForQuery with status idle.</summary>
    Transaction,

    /// <summary>When the client disconnects.</summary>
    Session,

    /// <summary>After each statement; multi-statement transactions are refused.</summary>
    Statement,
}

/// <summary>Which servers of a shard take a query the router has no opinion about.</summary>
public enum DefaultRole
{
    Any,
    Primary,
    Replica,
}

/// <summary>The role of one server in a shard (the third element of a <c>servers</c> entry).</summary>
public enum ServerRole
{
    Primary,
    Replica,
}

/// <summary>How a server is picked among those that may take a query.</summary>
public enum LoadBalancingMode
{
    Random,

    /// <summary>PgCat's "loc": the server with the fewest busy connections.</summary>
    LeastOutstandingConnections,
}

/// <summary>How a sharding key maps to a shard.</summary>
public enum ShardingFunction
{
    /// <summary>PostgreSQL's own hash for <c>PARTITION BY HASH</c> on a bigint.</summary>
    PgBigintHash,
    Sha1,
}

/// <summary>Where a query without a sharding key goes.</summary>
public enum DefaultShardKind
{
    /// <summary>A fixed shard (<see cref="DefaultShard.Index"/>).</summary>
    Index,
    Random,
    RandomHealthy,
}

/// <summary>How clients prove their password to Pooler.</summary>
public enum AuthType
{
    ScramSha256,
    Md5,

    /// <summary>Cleartext password over the wire; only sensible over TLS or a trusted network.</summary>
    Plain,
}

/// <summary>What a configured password string holds.</summary>
public enum PasswordKind
{
    /// <summary>The password itself.</summary>
    Plain,

    /// <summary>PostgreSQL's MD5 secret: <c>md5</c> followed by md5(password || username) in hex.</summary>
    Md5,

    /// <summary>PostgreSQL's SCRAM secret: <c>SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey</c>.</summary>
    ScramSha256,
}
