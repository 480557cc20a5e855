using Pooler.Core.Admin;
using Pooler.Core.Cluster;

namespace Pooler.Core.Stats;

/// <summary>Asks a node's <c>/user/node-admin</c> for its report (with or without its client and server lists); answered with <see cref="NodeReport"/>.</summary>
public sealed record GetNodeSnapshot(bool Connections) : IClusterMessage;

public sealed record NodeReport(NodeSnapshot Snapshot) : IClusterMessage;

/// <summary>An admin command to run on one node (DISABLE, ENABLE, KILL's clients, RELOAD); answered with an <see cref="AdminResult"/>.</summary>
public sealed record NodeCommand(AdminCommand Command, string? Database) : IClusterMessage;
