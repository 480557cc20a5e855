namespace Pooler.Config;

/// <summary><c>[pools.&lt;name&gt;.shards.&lt;n&gt;]</c>: the servers that hold one shard of the data.</summary>
public sealed record ShardConfig
{
    /// <summary>The shard number (the table's name), counted from 0 without gaps.</summary>
    public required int Index { get; init; }

    /// <summary>The database name on the PostgreSQL servers.</summary>
    public required string Database { get; init; }

    /// <summary>In file order; at least one, at most one primary.</summary>
    public required IReadOnlyList<ServerAddress> Servers { get; init; }

    public IReadOnlyList<MirrorAddress> Mirrors { get; init; } = [];

    public ServerAddress? Primary => Servers.FirstOrDefault(s => s.Role == ServerRole.Primary);

    public IEnumerable<ServerAddress> Replicas => Servers.Where(s => s.Role == ServerRole.Replica);
}

/// <summary>One <c>[host, port, role]</c> entry of <c>servers</c>.</summary>
public sealed record ServerAddress(string Host, int Port, ServerRole Role)
{
    public override string ToString() => $"{Host}:{Port} ({Role.ToConfigName()})";
}

/// <summary>One <c>[host, port, server_index]</c> entry of <c>mirrors</c>: a copy of traffic to <c>Servers[ServerIndex]</c>.</summary>
public sealed record MirrorAddress(string Host, int Port, int ServerIndex);
