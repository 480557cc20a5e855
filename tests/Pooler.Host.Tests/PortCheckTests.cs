using System.Net;
using System.Net.Sockets;
using Pooler.Config;
using Xunit;

namespace Pooler.Host.Tests;

public sealed class PortCheckTests
{
    private static PoolerConfig ConfigWithPorts(int clientPort, int clusterPort) => ConfigLoader.Parse($"""
        [general]
        host = "127.0.0.1"
        port = {clientPort}

        [cluster]
        port = {clusterPort}

        [pools.app.shards.0]
        servers = [["127.0.0.1", 5432, "primary"]]
        database = "app"

        [pools.app.users.0]
        username = "app"
        password = "secret"
        pool_size = 1
        """, "ports.toml");

    [Fact]
    public void Free_ports_pass()
    {
        var (a, b) = (FreePort(), FreePort());

        Assert.Null(PortCheck.FindPortInUse(ConfigWithPorts(a, b)));
    }

    [Fact]
    public void Taken_cluster_port_is_named_with_its_key()
    {
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        squatter.Listen();
        var taken = ((IPEndPoint)squatter.LocalEndPoint!).Port;
        var config = ConfigWithPorts(FreePort(), taken);

        var message = PortCheck.FindPortInUse(config);

        Assert.Equal(
            $"cannot listen on {config.Cluster.Host}:{taken} (cluster.port): address already in use; " +
            "stop the program holding it or change cluster.port", message);
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
