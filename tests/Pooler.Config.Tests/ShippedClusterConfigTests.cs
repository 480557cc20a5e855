namespace Pooler.Config.Tests;

/// <summary>
/// The three-node configurations we ship (cluster-config/node1-3.toml for one machine,
/// cluster-config/docker/node1-3.toml for docker-compose.yml) load and really describe one cluster:
/// the same secret, seeds and pool on every node, distinct names and addresses, no port shared
/// by two listeners that would collide.
/// </summary>
public sealed class ShippedClusterConfigTests
{
    public static TheoryData<string> ClusterSets() => new() { "cluster-config", "cluster-config/docker" };

    [Theory]
    [MemberData(nameof(ClusterSets))]
    public void The_three_nodes_share_secret_seed_nodes_and_pools(string folder)
    {
        var nodes = LoadNodes(folder);

        var secret = nodes[0].Cluster.Secret;
        Assert.NotNull(secret);
        Assert.True(secret.Length >= 16, $"the secret must be at least 16 characters, got {secret.Length}");
        Assert.Contains("change-me", secret, StringComparison.Ordinal); // a placeholder, obviously
        foreach (var node in nodes)
        {
            Assert.Equal(secret, node.Cluster.Secret);
            Assert.Equal(nodes[0].Cluster.SeedNodes, node.Cluster.SeedNodes);
            Assert.Equal(nodes[0].Cluster.SystemName, node.Cluster.SystemName);
            Assert.False(node.Cluster.IsSingleNode);
            Assert.Equal(PoolShape(nodes[0]), PoolShape(node));
        }
    }

    [Theory]
    [MemberData(nameof(ClusterSets))]
    public void Every_node_is_a_seed_and_every_seed_is_a_node(string folder)
    {
        var nodes = LoadNodes(folder);

        // Any node may start first: each finds the others through the full list.
        Assert.Equal(
            nodes.Select(n => n.Cluster.SelfAddress).Order(StringComparer.Ordinal),
            nodes[0].Cluster.SeedNodes.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(ClusterSets))]
    public void Node_names_and_addresses_differ(string folder)
    {
        var nodes = LoadNodes(folder);

        Assert.Equal(["node1", "node2", "node3"], nodes.Select(n => n.Cluster.NodeName));
        Assert.Equal(3, nodes.Select(n => n.Cluster.SelfAddress).Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Fact]
    public void On_one_machine_no_two_listeners_share_a_port()
    {
        var nodes = LoadNodes("cluster-config");

        var ports = nodes.SelectMany(Listeners).ToList();
        Assert.Equal(12, ports.Count);
        var shared = ports.GroupBy(p => p.Port).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(shared.Count == 0, $"ports used twice: {string.Join(", ", shared)}");
        Assert.Equal([6432, 6442, 6452], nodes.Select(n => n.General.Port));
        Assert.Equal([4053, 4063, 4073], nodes.Select(n => n.Cluster.Port));
        Assert.Equal([6433, 6443, 6453], nodes.Select(n => n.Cluster.RelayPort));
        Assert.Equal([9930, 9931, 9932], nodes.Select(n => n.Http.Port));
        Assert.All(nodes, n => Assert.Equal("127.0.0.1", n.Cluster.PublicHostname));
    }

    [Fact]
    public void The_one_machine_cluster_serves_what_the_single_node_serves()
    {
        var single = ConfigLoader.LoadFile(Path.Combine(RepositoryRoot(), "cluster-config", "single.toml"));

        foreach (var node in LoadNodes("cluster-config"))
            Assert.Equal(PoolShape(single), PoolShape(node));
    }

    [Fact]
    public void In_docker_each_container_listens_on_all_interfaces_and_reaches_postgres_by_service_name()
    {
        var nodes = LoadNodes("cluster-config/docker");

        Assert.Equal(["pooler1", "pooler2", "pooler3"], nodes.Select(n => n.Cluster.PublicHostname));
        Assert.Equal(
            ["akka.tcp://pooler@pooler1:4053", "akka.tcp://pooler@pooler2:4053", "akka.tcp://pooler@pooler3:4053"],
            nodes[0].Cluster.SeedNodes);
        foreach (var node in nodes)
        {
            Assert.Equal("0.0.0.0", node.General.Host);
            Assert.Equal("0.0.0.0", node.Cluster.Host);
            Assert.Equal("0.0.0.0", node.Http.Host);
            // Each container has its own network namespace: the same ports on every node, but
            // no two listeners of one node on the same port.
            var ports = Listeners(node).Select(l => l.Port).ToList();
            Assert.Equal(ports.Count, ports.Distinct().Count());
            Assert.Equal(Listeners(nodes[0]), Listeners(node));
            var server = Assert.Single(Assert.Single(Assert.Single(node.Pools).Shards).Servers);
            Assert.Equal(new ServerAddress("postgres", 5432, ServerRole.Primary), server);
        }
    }

    [Fact]
    public void Docker_compose_mounts_each_node_config_and_publishes_its_ports()
    {
        var compose = File.ReadAllText(Path.Combine(RepositoryRoot(), "docker-compose.yml"));
        var nodes = LoadNodes("cluster-config/docker");

        for (var i = 0; i < nodes.Count; i++)
        {
            var n = i + 1;
            Assert.Contains($"  pooler{n}:", compose, StringComparison.Ordinal);
            Assert.Contains($"./cluster-config/docker/node{n}.toml:/etc/pooler/pooler.toml:ro", compose, StringComparison.Ordinal);
            // Host ports 6432/6442/6452 and 9930/9931/9932, as on one machine.
            Assert.Contains($"\"{6432 + 10 * i}:{nodes[i].General.Port}\"", compose, StringComparison.Ordinal);
            Assert.Contains($"\"{9930 + i}:{nodes[i].Http.Port}\"", compose, StringComparison.Ordinal);
        }
        // The pool's user is PostgreSQL's user in the compose file, with the same password.
        var user = Assert.Single(Assert.Single(nodes[0].Pools).Users);
        Assert.Contains($"POSTGRES_USER: {user.Username}", compose, StringComparison.Ordinal);
        Assert.Contains($"POSTGRES_PASSWORD: {user.Password}", compose, StringComparison.Ordinal);
        Assert.Contains($"POSTGRES_DB: {Assert.Single(nodes[0].Pools).Shards[0].Database}", compose, StringComparison.Ordinal);
    }

    private static List<PoolerConfig> LoadNodes(string folder)
    {
        var root = RepositoryRoot();
        return [.. Enumerable.Range(1, 3).Select(n => ConfigLoader.LoadFile(Path.Combine(root, folder, $"node{n}.toml")))];
    }

    private static IEnumerable<(string Key, int Port)> Listeners(PoolerConfig config) =>
    [
        ("general.port", config.General.Port),
        ("cluster.port", config.Cluster.Port),
        ("cluster.relay_port", config.Cluster.RelayPort),
        ("http.port", config.Http.Port),
    ];

    /// <summary>What a node serves, as text: pools, modes, users, sizes, servers.</summary>
    private static string PoolShape(PoolerConfig config) =>
        string.Join("\n", config.Pools.Select(pool =>
            $"{pool.Name} {pool.PoolMode}: " +
            string.Join("; ", pool.Users.Select(u => $"{u.Username}/{u.Password}/{u.AuthType}/{u.PoolSize}")) + " | " +
            string.Join("; ", pool.Shards.Select(s => $"{s.Index} {s.Database} {string.Join(",", s.Servers.Select(a => a.ToString()))}"))));

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Pooler.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException("the repository root (holding Pooler.sln) was not found");
    }
}
