namespace Pooler.Core.Stats;

/// <summary>Where the admin console, /metrics and the dashboard get their numbers.</summary>
public interface IStatsSource
{
    /// <summary>This node's own report.</summary>
    Task<NodeSnapshot> LocalAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Members, placement, and the report of every member that answers within a second or two;
    /// without <paramref name="connections"/> the reports leave out their client and server lists
    /// (which would be megabytes with many clients, sent by every node).
    /// </summary>
    Task<ClusterSnapshot> ClusterAsync(bool connections, CancellationToken cancellationToken);
}
