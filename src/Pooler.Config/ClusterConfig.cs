namespace Pooler.Config;

/// <summary><c>[cluster]</c>: how this node joins the Akka.NET cluster and the internal relay.</summary>
public sealed record ClusterConfig
{
    /// <summary>This node's name in logs and admin views; unique in the cluster.</summary>
    public required string NodeName { get; init; }

    /// <summary>The address Akka.Remote binds.</summary>
    public string Host { get; init; } = Defaults.Cluster.Host;
    public int Port { get; init; } = Defaults.Cluster.Port;

    /// <summary>
    /// The host other nodes use to reach this one: public_hostname, else host, else (when host
    /// is a wildcard such as 0.0.0.0) the machine name.
    /// </summary>
    public required string PublicHostname { get; init; }

    /// <summary>Seed nodes as Akka addresses (<c>akka.tcp://pooler@host:port</c>); never empty.</summary>
    public required IReadOnlyList<string> SeedNodes { get; init; }

    public IReadOnlyList<string> Roles { get; init; } = [];

    /// <summary>Where the owner of a pool accepts clients relayed from other nodes (binds <see cref="Host"/>).</summary>
    public int RelayPort { get; init; } = Defaults.Cluster.RelayPort;

    /// <summary>How many clients relayed from other nodes this node serves at once; more are refused (53300).</summary>
    public int MaxRelayedConnections { get; init; } = Defaults.Cluster.MaxRelayedConnections;

    /// <summary>Shared by every node; proves a relayed connection comes from a node. Null on a lone node.</summary>
    public string? Secret { get; init; }

    public string SystemName { get; init; } = Defaults.Cluster.SystemName;

    /// <summary>This node's own Akka address.</summary>
    public string SelfAddress => Address(SystemName, PublicHostname, Port);

    /// <summary>True when the only seed is this node: a cluster of one (until others join it).</summary>
    public bool IsSingleNode => SeedNodes.Count == 1 && string.Equals(SeedNodes[0], SelfAddress, StringComparison.OrdinalIgnoreCase);

    internal static string Address(string systemName, string host, int port)
    {
        // IPv6 literals need brackets in an Akka address.
        var shown = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
        return $"akka.tcp://{systemName}@{shown}:{port}";
    }

    public override string ToString() =>
        $"ClusterConfig {{ NodeName = {NodeName}, Host = {Host}, Port = {Port}, PublicHostname = {PublicHostname}, " +
        $"SeedNodes = [{string.Join(", ", SeedNodes)}], RelayPort = {RelayPort}, SystemName = {SystemName} }}";
}
