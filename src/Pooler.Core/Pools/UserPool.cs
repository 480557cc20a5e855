using Pooler.Config;
using Pooler.Core.Servers;

namespace Pooler.Core.Pools;

/// <summary>
/// The server connections of one user of a pool (PgCat's pools are per database and user): every
/// open one, the ones still connecting, and the desk where idle ones wait for sessions.
/// </summary>
internal sealed class UserPool(UserConfig user, ServerTarget target)
{
    public UserConfig User { get; set; } = user;
    public ServerTarget Target { get; set; } = target;
    public ServerDesk Desk { get; } = new(user.ServerLifetime);
    public HashSet<ServerConnection> Open { get; } = [];
    public int Connecting { get; set; }

    /// <summary>Connections that count against pool_size: open ones and ones being opened.</summary>
    public int Total => Open.Count + Connecting;

    /// <summary>Removes a connection whose backend is gone from every list.</summary>
    public void Forget(ServerConnection server)
    {
        Open.Remove(server);
        Desk.RemoveIdle(server);
    }
}
