using System.Net;
using System.Net.Sockets;
using Pooler.Config;

namespace Pooler.Host;

/// <summary>
/// Finds a listening port that is already taken before anything starts, so that the operator gets
/// one line naming the address and the key that chose it instead of a stack trace from deep inside
/// Kestrel or Akka.Remote.
/// </summary>
public static class PortCheck
{
    public static string? FindPortInUse(PoolerConfig config)
    {
        foreach (var (host, port, key) in ListeningPorts(config))
        {
            if (port == 0)
                continue;
            try
            {
                var address = ResolveBindAddress(host);
                using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(address, port));
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                return InUse(host, port, key);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
            {
                return $"cannot listen on {host}:{port} ({key}): no local interface has that address";
            }
        }
        return null;
    }

    /// <summary>True when a start-up failure is a port that was taken after the check ran.</summary>
    public static bool IsAddressInUse(Exception e, out string message)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } ||
                inner.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                message = $"a listening port is already in use: {inner.Message}";
                return true;
            }
        }
        message = "";
        return false;
    }

    internal static string InUse(string host, int port, string key) =>
        $"cannot listen on {host}:{port} ({key}): address already in use; stop the program holding it or change {key}";

    internal static IEnumerable<(string Host, int Port, string Key)> ListeningPorts(PoolerConfig config)
    {
        yield return (config.General.Host, config.General.Port, "general.port");
        yield return (config.Cluster.Host, config.Cluster.Port, "cluster.port");
    }

    internal static IPAddress ResolveBindAddress(string host) =>
        host switch
        {
            "0.0.0.0" or "*" or "" => IPAddress.Any,
            "::" => IPAddress.IPv6Any,
            "localhost" => IPAddress.Loopback,
            _ when IPAddress.TryParse(host, out var address) => address,
            _ => Dns.GetHostAddresses(host).First(),
        };
}
