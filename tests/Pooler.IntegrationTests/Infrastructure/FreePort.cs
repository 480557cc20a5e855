using System.Net;
using System.Net.Sockets;

namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>Picks loopback TCP ports nobody is listening on.</summary>
public static class FreePort
{
    private static readonly object Gate = new();
    private static readonly HashSet<int> Handed = [];

    /// <summary>
    /// Asks the kernel for an ephemeral port and releases it. Ports already handed out in this
    /// process are skipped so that two fixtures starting at once never get the same one.
    /// </summary>
    public static int Next()
    {
        lock (Gate)
        {
            while (true)
            {
                using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
                if (Handed.Add(port))
                    return port;
            }
        }
    }
}
