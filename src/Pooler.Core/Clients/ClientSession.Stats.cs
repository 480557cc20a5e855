using System.Diagnostics;
using System.Net;
using Pooler.Core.Stats;

namespace Pooler.Core.Clients;

public sealed partial class ClientSession
{
    private readonly DateTime _connectedAt = DateTime.UtcNow;
    private long _requestAt = Stopwatch.GetTimestamp(); // Stopwatch timestamp of the last request for a server connection
    private long _waitingSince;         // Stopwatch timestamp while waiting for a server connection, else 0
    private PoolCounters? _counters;    // this pool and user's counters, once logged in
    private string? _applicationName;
    private string? _relayedFrom;       // the entry node, for a client relayed here

    /// <summary>Starts counting this session's work once its pool and user are known.</summary>
    private void CountAs(string pool, string user)
    {
        _counters = _services.Stats.For(pool, user);
        _applicationName = _desiredSettings.GetValueOrDefault("application_name");
    }

    /// <summary>The session as SHOW CLIENTS shows it (read from another thread: a moment's view).</summary>
    public ClientInfo Describe()
    {
        var waitingSince = Volatile.Read(ref _waitingSince);
        var lease = Volatile.Read(ref _lease);
        var linked = lease is not null && !lease.Released ? $"server-{lease.Server.Id}" : null;
        var state = _processId == 0 ? "login" : waitingSince != 0 ? "waiting" : "active";
        var remote = _client.RemoteEndPoint as IPEndPoint;
        var local = _client.LocalEndPoint as IPEndPoint;
        return new ClientInfo(Id, _userName, _poolConfig?.Name ?? "", state,
            remote?.Address.ToString() ?? "", remote?.Port ?? 0, local?.Address.ToString() ?? "", local?.Port ?? 0,
            _connectedAt, DateTime.UtcNow - Stopwatch.GetElapsedTime(Volatile.Read(ref _requestAt)),
            waitingSince == 0 ? 0 : PoolCounters.Micros(Stopwatch.GetTimestamp() - waitingSince),
            linked, _processId, _applicationName, _relayedFrom);
    }

    /// <summary>The pool this session belongs to, once logged in.</summary>
    public string? PoolName => _processId == 0 ? null : _poolConfig?.Name;

    /// <summary>The session's user, once logged in.</summary>
    public string UserName => _userName;

    /// <summary>KILL: the session ends now, with the reason.</summary>
    public void Kill(string message) =>
        FatalAndClose(Pooler.Protocol.SqlState.AdminShutdown, message, hint: "reconnect once the administrator has re-enabled the database");
}
