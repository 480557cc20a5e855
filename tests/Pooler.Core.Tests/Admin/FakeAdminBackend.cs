using Pooler.Config;
using Pooler.Core.Admin;
using Pooler.Core.Stats;

namespace Pooler.Core.Tests.Admin;

/// <summary>
/// A backend with canned snapshots: node A owns "app" (two users), node B owns "reports". It
/// records the commands it is asked to run and answers them with <see cref="NextResult"/>.
/// </summary>
internal sealed class FakeAdminBackend : IAdminBackend
{
    public const string AdminPassword = "admin-very-secret-pw";
    public const string NodeA = "akka.tcp://pooler@10.0.0.1:4053";
    public const string NodeB = "akka.tcp://pooler@10.0.0.2:4053";

    public const string Toml = $"""
        [general]
        admin_username = "admin"
        admin_password = "{AdminPassword}"
        connect_timeout = 2500

        [pools.app]
        pool_mode = "transaction"

        [pools.app.users.0]
        username = "app"
        password = "app-password"
        pool_size = 5
        min_pool_size = 1

        [pools.app.users.1]
        username = "reporter"
        password = "reporter-password"
        pool_size = 2
        pool_mode = "session"

        [pools.app.shards.0]
        servers = [["10.0.1.1", 5433, "replica"], ["10.0.1.2", 5432, "primary"]]
        database = "appdb"

        [pools.reports]
        pool_mode = "transaction"

        [pools.reports.users.0]
        username = "reporter"
        password = "reporter-password"
        pool_size = 3

        [pools.reports.shards.0]
        servers = [["10.0.2.1", 5432, "primary"]]
        database = "reportsdb"
        """;

    public static readonly DateTime Started = new(2024, 5, 1, 12, 0, 0, DateTimeKind.Utc);

    public PoolerConfig Config { get; } = ConfigLoader.Parse(Toml, "pooler.toml");

    public string Version => "0.1.0";

    public List<(AdminCommand Command, string? Database)> Calls { get; } = [];

    public AdminResult NextResult { get; set; } = AdminResult.Done;

    /// <summary>When set, LocalAsync and ClusterAsync throw it (a node slow to answer, say).</summary>
    public Exception? Failure { get; set; }

    public NodeSnapshot Local { get; set; } = NodeASnapshot();

    public ClusterSnapshot Cluster { get; set; } = new(Started, NodeA, NodeA,
        [
            new MemberInfo(NodeA, "Up", ["pooler", "dc-1"], Reachable: true, Leader: true, Started, ["app"]),
            new MemberInfo(NodeB, "Up", [], Reachable: false, Leader: false, UpSince: null, ["reports"]),
        ],
        [new PoolPlacement("app", NodeA), new PoolPlacement("reports", null)],
        [NodeASnapshot(), NodeBSnapshot()]);

    public Task<NodeSnapshot> LocalAsync(CancellationToken cancellationToken) =>
        Failure is null ? Task.FromResult(Local) : Task.FromException<NodeSnapshot>(Failure);

    public Task<ClusterSnapshot> ClusterAsync(bool connections, CancellationToken cancellationToken) =>
        Failure is null ? Task.FromResult(Cluster) : Task.FromException<ClusterSnapshot>(Failure);

    public Task<AdminResult> RunAsync(AdminCommand command, string? database, CancellationToken cancellationToken)
    {
        Calls.Add((command, database));
        return Task.FromResult(NextResult);
    }

    public static NodeSnapshot NodeASnapshot() => new(NodeA, "10.0.0.1:6432", null, Started.AddHours(1), Started,
        [
            Pool("app", "app", "transaction", clientsActive: 3, clientsWaiting: 2, maxWaitUs: 2_500_001, paused: true,
                totals: new(10, 40, 1000, 2000, 500, 400, 30, [], []),
                averages: new(3, 12, 100, 200, 1000, 200, 10)),
            Pool("app", "reporter", "session", clientsActive: 1, clientsWaiting: 0, maxWaitUs: 0, paused: false,
                totals: new(5, 5, 50, 60, 70, 80, 90, [], []),
                averages: new(1, 4, 10, 20, 5000, 400, 50)),
        ],
        [
            new ClientInfo("c-17", "app", "app", "active", "192.168.1.5", 50123, "10.0.0.1", 6432,
                new DateTime(2024, 5, 1, 12, 30, 0, DateTimeKind.Utc), new DateTime(2024, 5, 1, 12, 31, 2, DateTimeKind.Utc),
                WaitUs: 1_000_250, Link: "s-3", ProcessId: 4242, ApplicationName: "psql", RelayedFrom: null),
            new ClientInfo("c-18", "app", "app", "login", "192.168.1.6", 50124, "10.0.0.1", 6432,
                Started, Started, 0, null, 4243, null, null),
        ],
        [
            new ServerInfo("s-3", "app", "app", "active", "10.0.1.2", 5432, "10.0.0.1", 40000,
                Started, Started.AddSeconds(5), Link: "c-17", RemotePid: 9001, ApplicationName: "psql"),
        ],
        ClientCount: 2, RelayedClients: 0, MaxRelayedConnections: 10_000,
        Bans: [new BanInfo("app", 0, "10.0.0.2", 5432, "replica", Started.AddMinutes(1), "connection refused")]);

    private static NodeSnapshot NodeBSnapshot() => new(NodeB, "10.0.0.2:6432", null, Started.AddHours(1), Started,
        [
            Pool("reports", "reporter", "transaction", clientsActive: 0, clientsWaiting: 0, maxWaitUs: 0, paused: false,
                totals: PoolTotals.Zero, averages: PoolAverages.Zero),
        ],
        [], [], ClientCount: 0, RelayedClients: 0, MaxRelayedConnections: 10_000);

    private static PoolSnapshot Pool(string database, string user, string mode, int clientsActive, int clientsWaiting,
        long maxWaitUs, bool paused, PoolTotals totals, PoolAverages averages) =>
        new(database, user, mode, Owned: true, PoolSize: 5, MinPoolSize: 1, ReservePool: 0,
            clientsActive, clientsWaiting, ServersActive: 1, ServersIdle: 2, ServersUsed: 1, ServersLogin: 1,
            maxWaitUs, paused, Disabled: false, totals, averages);
}
