using Pooler.Config;
using Pooler.Core.Servers;

namespace Pooler.Core.Pools;

/// <summary>
/// One user's connections to one server of a pool (PgCat's pools are per database and user, and
/// pool_size counts per server): every open one, the ones still connecting, and the desk where idle
/// ones wait for sessions.
/// </summary>
internal sealed class ServerPool(UserConfig user, ServerTarget target, ServerHealth health)
{
    public UserConfig User { get; set; } = user;
    public ServerTarget Target { get; set; } = target;
    public ServerHealth Health { get; set; } = health;
    public ServerDesk Desk { get; } = new(user.ServerLifetime);
    public HashSet<ServerConnection> Open { get; } = [];
    public int Connecting { get; set; }

    /// <summary>Connections that count against pool_size: open ones and ones being opened.</summary>
    public int Total => Open.Count + Connecting;

    public void Opened(ServerConnection server)
    {
        Open.Add(server);
        Desk.OpenCount = Open.Count;
    }

    /// <summary>Removes a connection whose backend is gone from every list.</summary>
    public void Forget(ServerConnection server)
    {
        Open.Remove(server);
        Desk.OpenCount = Open.Count;
        Desk.RemoveIdle(server);
    }
}
