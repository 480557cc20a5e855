using System.Globalization;
using Pooler.Core.Stats;
using Pooler.Protocol;

namespace Pooler.Core.Admin;

/// <summary>What SHOW can list.</summary>
internal enum ShowTable
{
    Pools,
    Stats,
    StatsTotals,
    StatsAverages,
    Clients,
    Servers,
    Databases,
    Users,
    Config,
    Lists,
    Version,
    Nodes,
    PoolPlacement,
    Bans,
}

/// <summary>
/// The SHOW tables: their columns (PgBouncer 1.18's names, order and types, so tools written for
/// PgBouncer read them unchanged) and their rows. A row is one value per column: a string for
/// text, an int for int4, a long for numeric; the result writer encodes them by the column's type.
/// </summary>
internal static partial class AdminTables
{
    /// <summary>The columns of a table; a cluster-wide one starts with the node it came from.</summary>
    public static IReadOnlyList<FieldDescription> ColumnsOf(ShowTable table, bool clusterWide)
    {
        var columns = table switch
        {
            ShowTable.Pools => PoolColumns,
            ShowTable.Stats => StatsColumns,
            ShowTable.StatsTotals => TotalsColumns,
            ShowTable.StatsAverages => AveragesColumns,
            ShowTable.Clients or ShowTable.Servers => ConnectionColumns,
            ShowTable.Databases => DatabaseColumns,
            ShowTable.Users => UserColumns,
            ShowTable.Config => ConfigColumns,
            ShowTable.Lists => ListColumns,
            ShowTable.Version => VersionColumns,
            ShowTable.Nodes => NodeColumns,
            ShowTable.PoolPlacement => PlacementColumns,
            ShowTable.Bans => BanColumns,
            _ => throw new ArgumentOutOfRangeException(nameof(table), table, null),
        };
        return clusterWide ? [Text("node"), .. columns] : columns;
    }

    /// <summary>The tables that describe one node only, and so have a SHOW CLUSTER form.</summary>
    public static bool HasClusterVariant(ShowTable table) => table is ShowTable.Pools or ShowTable.Stats
        or ShowTable.StatsTotals or ShowTable.StatsAverages or ShowTable.Clients or ShowTable.Servers or ShowTable.Bans;

    /// <summary>The rows of a table that <see cref="HasClusterVariant"/>, from one node's report.</summary>
    public static List<object?[]> NodeRows(ShowTable table, NodeSnapshot node) => table switch
    {
        ShowTable.Pools => Pools(node),
        ShowTable.Stats => Stats(node),
        ShowTable.StatsTotals => StatsTotals(node),
        ShowTable.StatsAverages => StatsAverages(node),
        ShowTable.Clients => Clients(node),
        ShowTable.Servers => Servers(node),
        ShowTable.Bans => Bans(node),
        _ => throw new ArgumentOutOfRangeException(nameof(table), table, "not a per-node table"),
    };

    /// <summary>SHOW BANS: Pooler's own (PgBouncer has no replicas): the servers left out of routing now.</summary>
    private static readonly FieldDescription[] BanColumns =
        [Text("database"), Int4("shard"), Text("host"), Int4("port"), Text("role"), Text("banned_until"), Text("reason")];

    private static List<object?[]> Bans(NodeSnapshot node) =>
        (node.Bans ?? []).Select(b => new object?[] { b.Database, b.Shard, b.Host, b.Port, b.Role, Time(b.Until), b.Reason }).ToList();

    private static FieldDescription Text(string name) => FieldDescription.Text(name);

    private static FieldDescription Int4(string name) => FieldDescription.Int4(name);

    // PgBouncer sends its counters as numeric: they outgrow int4, and numeric has no width to outgrow.
    private static FieldDescription Numeric(string name) =>
        new(name, 0, 0, TypeOids.Numeric, -1, -1, FormatCode.Text);

    /// <summary>PgBouncer's timestamp text, e.g. "2024-05-01 12:00:00 UTC".</summary>
    private static string Time(DateTime time) =>
        (time.Kind == DateTimeKind.Local ? time.ToUniversalTime() : time)
            .ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    // PgBouncer splits a wait into whole seconds (maxwait, wait) and the microseconds left (…_us).
    private static int WholeSeconds(long microseconds) => (int)(microseconds / 1_000_000);

    private static int MicrosecondsLeft(long microseconds) => (int)(microseconds % 1_000_000);

    private static string YesNo(bool value) => value ? "yes" : "no";
}
