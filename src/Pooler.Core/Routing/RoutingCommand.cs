namespace Pooler.Core.Routing;

/// <summary>
/// One of PgCat's routing commands, which Pooler answers itself instead of forwarding
/// (<see cref="RoutingCommandParser"/>). None of them is valid PostgreSQL, so no server would take them.
/// </summary>
public abstract record RoutingCommand
{
    private protected RoutingCommand()
    {
    }
}

/// <summary>What <c>SET SERVER ROLE TO ...</c> asks for.</summary>
public enum ServerRoleSetting
{
    /// <summary>Every query to the primary.</summary>
    Primary,

    /// <summary>Every query to a replica.</summary>
    Replica,

    /// <summary>Any server, without asking the query parser.</summary>
    Any,

    /// <summary>The query parser decides, query by query (<see cref="QueryClassifier"/>).</summary>
    Auto,

    /// <summary>Back to the pool's configured default_role.</summary>
    Default,
}

/// <summary>What <c>SET PRIMARY READS TO ...</c> asks for: whether the primary takes reads with the replicas.</summary>
public enum PrimaryReadsSetting
{
    On,
    Off,

    /// <summary>Back to the pool's configured primary_reads_enabled.</summary>
    Default,
}

/// <summary><c>SET SERVER ROLE TO 'primary' | 'replica' | 'any' | 'auto' | 'default'</c>.</summary>
public sealed record SetServerRole(ServerRoleSetting Role) : RoutingCommand;

/// <summary><c>SHOW SERVER ROLE</c>.</summary>
public sealed record ShowServerRole : RoutingCommand
{
    public static readonly ShowServerRole Instance = new();
}

/// <summary><c>SET SHARDING KEY TO '&lt;key&gt;'</c>: the key as written; the pool's sharding function maps it to a shard.</summary>
public sealed record SetShardingKey(string Key) : RoutingCommand;

/// <summary><c>SET SHARD TO '&lt;n&gt;' | 'any'</c>.</summary>
/// <param name="Index">The shard number (not checked against the pool's shards here); null for <c>any</c>, one picked at random.</param>
public sealed record SetShard(int? Index) : RoutingCommand;

/// <summary><c>SHOW SHARD</c>.</summary>
public sealed record ShowShard : RoutingCommand
{
    public static readonly ShowShard Instance = new();
}

/// <summary><c>SET PRIMARY READS TO 'on' | 'off' | 'default'</c>.</summary>
public sealed record SetPrimaryReads(PrimaryReadsSetting Setting) : RoutingCommand;

/// <summary><c>SHOW PRIMARY READS</c>.</summary>
public sealed record ShowPrimaryReads : RoutingCommand
{
    public static readonly ShowPrimaryReads Instance = new();
}

/// <summary>
/// Text that starts as one of the commands above but does not finish as one
/// (<c>SET SERVER ROLE TO 'master'</c>): answered with this error rather than forwarded, since the
/// server could only answer with a syntax error that says nothing about what was wrong.
/// </summary>
/// <param name="SqlState">A <see cref="Pooler.Protocol.SqlState"/> code.</param>
public sealed record InvalidRoutingCommand(string SqlState, string Message) : RoutingCommand;
