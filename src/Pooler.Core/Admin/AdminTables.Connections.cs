using Pooler.Core.Stats;
using Pooler.Protocol;

namespace Pooler.Core.Admin;

// SHOW CLIENTS and SHOW SERVERS: one row per connection, the same columns for both (as PgBouncer).
internal static partial class AdminTables
{
    private static readonly FieldDescription[] ConnectionColumns =
    [
        Text("type"), Text("user"), Text("database"), Text("state"), Text("addr"), Int4("port"),
        Text("local_addr"), Int4("local_port"), Text("connect_time"), Text("request_time"), Int4("wait"),
        Int4("wait_us"), Int4("close_needed"), Text("ptr"), Text("link"), Int4("remote_pid"), Text("tls"),
        Text("application_name"),
    ];

    // ptr and link are PgBouncer's object addresses; Pooler's connection ids play that part, so a
    // client's link is the ptr of its server and the other way round. An empty link means none.
    // tls stays empty: the sessions do not report their TLS parameters.

    private static List<object?[]> Clients(NodeSnapshot node)
    {
        var rows = new List<object?[]>(node.Clients.Count);
        foreach (var c in node.Clients)
        {
            rows.Add([
                "C", c.User, c.Database, c.State, c.Addr, c.Port, c.LocalAddr, c.LocalPort,
                Time(c.ConnectTime), Time(c.RequestTime), WholeSeconds(c.WaitUs), MicrosecondsLeft(c.WaitUs),
                0, c.Id, c.Link ?? "", c.ProcessId, "", c.ApplicationName ?? "",
            ]);
        }
        return rows;
    }

    private static List<object?[]> Servers(NodeSnapshot node)
    {
        var rows = new List<object?[]>(node.Servers.Count);
        foreach (var s in node.Servers)
        {
            rows.Add([
                "S", s.User, s.Database, s.State, s.Addr, s.Port, s.LocalAddr, s.LocalPort,
                Time(s.ConnectTime), Time(s.RequestTime), 0, 0,
                0, s.Id, s.Link ?? "", s.RemotePid, "", s.ApplicationName ?? "",
            ]);
        }
        return rows;
    }
}
