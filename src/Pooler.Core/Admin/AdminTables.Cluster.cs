using Pooler.Core.Stats;
using Pooler.Protocol;

namespace Pooler.Core.Admin;

// SHOW NODES and SHOW POOL_PLACEMENT: Pooler's own tables, about the cluster as this node sees it.
internal static partial class AdminTables
{
    private static readonly FieldDescription[] NodeColumns =
    [
        Text("node"), Text("status"), Text("roles"), Text("reachable"), Text("leader"), Text("up_since"), Text("pools"),
    ];

    private static readonly FieldDescription[] PlacementColumns = [Text("pool"), Text("node")];

    public static List<object?[]> Nodes(ClusterSnapshot cluster) => cluster.Members
        .Select(m => new object?[]
        {
            m.Address, m.Status, string.Join(",", m.Roles), YesNo(m.Reachable), YesNo(m.Leader),
            m.UpSince is { } upSince ? Time(upSince) : null, string.Join(",", m.Pools),
        })
        .ToList();

    /// <summary>An empty node: the pool has no owner right now (it is moving, or no node can take it).</summary>
    public static List<object?[]> Placement(ClusterSnapshot cluster) => cluster.Placement
        .Select(p => new object?[] { p.Pool, p.Owner ?? "" })
        .ToList();
}
