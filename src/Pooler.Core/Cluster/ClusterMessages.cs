namespace Pooler.Core.Cluster;

/// <summary>
/// A message that may cross nodes. Every such message is bound to <see cref="ClusterMessageSerializer"/>;
/// none carries query bytes (those travel over the relay, never through Akka.Remote).
/// </summary>
public interface IClusterMessage;

/// <summary>A CancelRequest that arrived at another node, for a client session on this one.</summary>
public sealed record ForwardedCancel(int ProcessId, int Secret) : IClusterMessage;

/// <summary>An operator asked for pool <paramref name="PoolName"/> to move to the node at <paramref name="TargetAddress"/>.</summary>
public sealed record MovePool(string PoolName, string TargetAddress) : IClusterMessage;
