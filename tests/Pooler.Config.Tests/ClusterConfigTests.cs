namespace Pooler.Config.Tests;

/// <summary>[cluster] and [http]: Pooler's own sections.</summary>
public sealed class ClusterConfigTests
{
    private const string Secret = "a-cluster-secret-of-some-length";

    [Fact]
    public void A_three_node_cluster_section_loads()
    {
        var config = TestConfigs.LoadWith($"""
            [cluster]
            node_name = "node-a"
            host = "0.0.0.0"
            port = 4053
            public_hostname = "10.0.0.1"
            seed_nodes = ["10.0.0.1:4053", "10.0.0.2:4053", "akka.tcp://pooler@10.0.0.3:4053"]
            roles = ["pooler", "edge"]
            relay_port = 6433
            secret = "{Secret}"
            """);

        var cluster = config.Cluster;
        Assert.Equal("node-a", cluster.NodeName);
        Assert.Equal("0.0.0.0", cluster.Host);
        Assert.Equal("10.0.0.1", cluster.PublicHostname);
        Assert.Equal(
            ["akka.tcp://pooler@10.0.0.1:4053", "akka.tcp://pooler@10.0.0.2:4053", "akka.tcp://pooler@10.0.0.3:4053"],
            cluster.SeedNodes);
        Assert.Equal(["pooler", "edge"], cluster.Roles);
        Assert.Equal(Secret, cluster.Secret);
        Assert.Equal("akka.tcp://pooler@10.0.0.1:4053", cluster.SelfAddress);
        Assert.False(cluster.IsSingleNode);
        Assert.DoesNotContain(Secret, cluster.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Three_nodes_on_one_machine_differ_only_in_ports()
    {
        var config = TestConfigs.Load($"""
            [general]
            port = 6442

            [cluster]
            port = 4063
            relay_port = 6443
            seed_nodes = ["127.0.0.1:4053"]
            secret = "{Secret}"

            [http]
            port = 9940
            """ + "\n" + TestConfigs.Minimal);

        Assert.Equal("127.0.0.1:4063", config.Cluster.NodeName);
        Assert.Equal(["akka.tcp://pooler@127.0.0.1:4053"], config.Cluster.SeedNodes);
        Assert.Equal(9940, config.Http.Port);
    }

    [Fact]
    public void A_wildcard_host_is_advertised_as_the_machine_name()
    {
        var config = TestConfigs.LoadWith("[cluster]\nhost = \"0.0.0.0\"");

        Assert.Equal(Environment.MachineName, config.Cluster.PublicHostname);
        Assert.Equal($"{Environment.MachineName}:4053", config.Cluster.NodeName);
        Assert.Equal([$"akka.tcp://pooler@{Environment.MachineName}:4053"], config.Cluster.SeedNodes);
    }

    [Fact]
    public void Seed_nodes_naming_other_nodes_need_a_secret()
    {
        var error = TestConfigs.FailsWith("[cluster]\nseed_nodes = [\"10.0.0.2:4053\"]");

        Assert.Equal(TestConfigs.FirstExtraLine, error.Line);
        Assert.Equal("cluster.secret", error.Key);
        Assert.Contains("set the same secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_that_seeds_only_itself_needs_no_secret()
    {
        var config = TestConfigs.LoadWith("[cluster]\nseed_nodes = [\"127.0.0.1:4053\"]");

        Assert.True(config.Cluster.IsSingleNode);
        Assert.Null(config.Cluster.Secret);
    }

    [Fact]
    public void A_short_secret_is_an_error_that_does_not_show_it()
    {
        var error = TestConfigs.FailsWith("[cluster]\nsecret = \"hunter2\"");

        Assert.Equal($"pooler.toml:{TestConfigs.FirstExtraLine + 1}: cluster.secret: must be at least 16 characters, got 7", error.Message);
    }

    [Theory]
    [InlineData("\"10.0.0.2\"", "must be \"host:port\" or \"akka.tcp://<system_name>@host:port\", got \"10.0.0.2\"")]
    [InlineData("\"10.0.0.2:99999\"", "got \"10.0.0.2:99999\"")]
    [InlineData("\"akka.tcp://other@10.0.0.2:4053\"", "names another actor system")]
    [InlineData("4053", "must be a non-empty string, got 4053")]
    public void A_bad_seed_node_is_an_error_naming_the_entry(string seed, string problem)
    {
        var error = TestConfigs.FailsWith($"[cluster]\nseed_nodes = [\"127.0.0.1:4053\", {seed}]\nsecret = \"{Secret}\"");

        Assert.Equal("cluster.seed_nodes[1]", error.Key);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_out_of_range_cluster_port_is_an_error()
    {
        var error = TestConfigs.FailsWith("[cluster]\nport = 70000");

        Assert.Equal($"pooler.toml:{TestConfigs.FirstExtraLine + 1}: cluster.port: must be a port number from 1 to 65535, got 70000",
            error.Message);
    }

    [Fact]
    public void The_relay_port_may_not_be_the_client_port()
    {
        var error = TestConfigs.FailsWith("[cluster]\nrelay_port = 6432");

        Assert.Equal("pooler.toml:13: cluster.relay_port: port 6432 is also general.port (its default); every listener needs its own port",
            error.Message);
    }

    [Fact]
    public void A_client_port_on_the_default_http_port_is_blamed_on_the_key_written()
    {
        var error = TestConfigs.Fails("[general]\nport = 9930\n" + TestConfigs.Minimal);

        Assert.Equal("pooler.toml:2: general.port: port 9930 is also http.port (its default); every listener needs its own port",
            error.Message);
    }

    [Fact]
    public void Between_two_written_ports_the_later_one_is_blamed()
    {
        var error = TestConfigs.FailsWith("[cluster]\nport = 5000\nrelay_port = 5000");

        Assert.Equal("cluster.relay_port", error.Key);
        Assert.Contains("is also cluster.port;", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Listeners_on_different_addresses_may_share_a_port()
    {
        var config = TestConfigs.Load("[general]\nhost = \"10.0.0.1\"\n[http]\nhost = \"10.0.0.2\"\nport = 6432\n" + TestConfigs.Minimal);

        Assert.Equal(6432, config.Http.Port);
    }

    [Fact]
    public void A_bad_system_name_is_an_error()
    {
        var error = TestConfigs.FailsWith("[cluster]\nsystem_name = \"my pooler\"");

        Assert.Equal("cluster.system_name", error.Key);
    }

    [Fact]
    public void The_http_listener_can_be_turned_off_with_port_zero()
    {
        var config = TestConfigs.LoadWith("[http]\nport = 0");

        Assert.False(config.Http.Enabled);
    }

    [Fact]
    public void The_http_section_sets_host_and_port()
    {
        var config = TestConfigs.LoadWith("[http]\nhost = \"0.0.0.0\"\nport = 8080");

        Assert.Equal(new HttpConfig { Host = "0.0.0.0", Port = 8080 }, config.Http);
    }

    [Fact]
    public void The_http_port_may_not_be_the_cluster_port()
    {
        var error = TestConfigs.FailsWith("[http]\nport = 4053");

        Assert.Equal("http.port", error.Key);
        Assert.Contains("is also cluster.port", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_http_key_is_an_error()
    {
        var error = TestConfigs.FailsWith("[http]\nprot = 8080");

        Assert.Contains("http.prot: unknown key (did you mean 'port'?)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PgCats_disabled_exporter_turns_http_off()
    {
        var config = TestConfigs.Load("[general]\nenable_prometheus_exporter = false\n" + TestConfigs.Minimal);

        Assert.False(config.Http.Enabled);
    }

    [Fact]
    public void PgCats_exporter_port_is_used_on_the_general_host()
    {
        var config = TestConfigs.Load("[general]\nhost = \"10.1.1.1\"\nprometheus_exporter_port = 9999\n" + TestConfigs.Minimal);

        Assert.Equal(new HttpConfig { Host = "10.1.1.1", Port = 9999 }, config.Http);
    }

    [Fact]
    public void The_http_section_wins_over_PgCats_exporter_keys()
    {
        var config = TestConfigs.LoadWith("[general]\nprometheus_exporter_port = 9999\n[http]\nport = 8080");

        Assert.Equal(8080, config.Http.Port);
        var ignored = Assert.Single(config.Ignored);
        Assert.Equal("general.prometheus_exporter_port", ignored.Key);
        Assert.Equal(TestConfigs.FirstExtraLine + 1, ignored.Line);
        Assert.Contains("superseded by the [http] section", ignored.Reason, StringComparison.Ordinal);
    }
}
