using Akka.Actor;
using Microsoft.Extensions.Logging;
using Pooler.Config;
using Pooler.Core.Admin;
using Pooler.Core.Stats;
using Pooler.Core.Cluster;
using Pooler.Core.Servers;
using Pooler.Protocol;
using static Pooler.Core.Pools.PoolProtocol;

namespace Pooler.Core.Pools;

/// <summary>
/// The coordinator of one pool (<c>[pools.&lt;name&gt;]</c>), placed by cluster sharding: it owns the
/// pool's server connections, hands them out to sessions and takes them back, keeps the queue of
/// waiting sessions, and enforces pool_size, min_pool_size, lifetimes and idle timeouts. It never
/// touches query bytes.
/// </summary>
public sealed class PoolSupervisor : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan JanitorInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RetireLimit = TimeSpan.FromSeconds(10);

    /// <summary>The SQLSTATE-like marker of a checkout refused because the pool moved: the session looks it up again.</summary>
    public const string PoolMovedState = "POOLER_MOVED";

    private PoolConfig _pool;
    private GeneralConfig _general;
    private readonly Dictionary<string, ServerPool> _servers = new(StringComparer.Ordinal); // by ServerTarget.Key
    private readonly Dictionary<(int Shard, int Index), ServerHealth> _health = [];
    private readonly List<(IActorRef ReplyTo, string User)> _parameterWaiters = [];
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stopping = new();
    private IReadOnlyDictionary<string, string>? _serverParameters;

    private readonly ClusterNode _node;
    private bool _draining;

    public PoolSupervisor(PoolConfig pool, GeneralConfig general, ClusterNode node, ILoggerFactory loggerFactory)
    {
        _node = node;
        _log = loggerFactory.CreateLogger<PoolSupervisor>();
        _pool = pool;
        _general = general;
        ApplyServers(pool, general);

        Receive<GetPoolLocation>(_ => Sender.Tell(_node.LocationOf(_pool.Name)));
        Receive<DrainPool>(_ => BeginDrain());
        Receive<DrainDeadline>(_ => Context.Stop(Self));
        Receive<ServerWanted>(OnServerWanted);
        Receive<Checkin>(OnCheckin);
        Receive<GetServerParameters>(OnGetServerParameters);
        Receive<ServerConnected>(OnServerConnected);
        Receive<ServerConnectFailed>(OnServerConnectFailed);
        Receive<ServerClosed>(OnServerClosed);
        Receive<JanitorTick>(_ => OnJanitorTick());
        Receive<ReplicaLagMeasured>(OnReplicaLagMeasured);
        Receive<GetPoolReport>(_ => Sender.Tell(Report()));
        Receive<UpdatePool>(OnUpdate);
        Receive<AdminPool>(OnAdmin);
    }

    private bool _paused;
    private readonly List<IActorRef> _pauseWaiters = [];

    private static ServerTarget TargetOf(PoolConfig pool, UserConfig user, GeneralConfig general, int shard, int index)
    {
        var address = pool.Shards[shard].Servers[index];
        return new ServerTarget(user.Username, address.Host, address.Port, pool.Shards[shard].Database, user.ServerUsername,
            user.ServerPassword, user.ConnectTimeout, general.MaxMessageSize) { Shard = shard, Index = index };
    }

    /// <summary>
    /// The connection sets the config lists, one per user and server (every shard's servers): new
    /// ones are added, existing ones take the new settings (RELOAD). Returns their keys.
    /// </summary>
    private HashSet<string> ApplyServers(PoolConfig pool, GeneralConfig general)
    {
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var user in pool.Users)
        {
            for (var shard = 0; shard < pool.Shards.Count; shard++)
            {
                for (var index = 0; index < pool.Shards[shard].Servers.Count; index++)
                {
                    var target = TargetOf(pool, user, general, shard, index);
                    var health = HealthOf(shard, index, pool.Shards[shard].Servers[index]);
                    listed.Add(target.Key);
                    if (_servers.TryGetValue(target.Key, out var existing))
                    {
                        var serverChanged = existing.Target != target;
                        existing.User = user;
                        existing.Target = target;
                        existing.Health = health;
                        existing.Desk.ServerLifetime = user.ServerLifetime;
                        if (serverChanged)
                            existing.Desk.ReconnectBefore = DateTime.UtcNow;
                    }
                    else
                    {
                        _servers[target.Key] = new ServerPool(user, target, health);
                    }
                }
            }
        }
        return listed;
    }

    /// <summary>One health (ban) record per server, shared by the users' connection sets.</summary>
    private ServerHealth HealthOf(int shard, int index, ServerAddress address)
    {
        if (!_health.TryGetValue((shard, index), out var health) || health.Address != address)
            _health[(shard, index)] = health = new ServerHealth(shard, index, address);
        return health;
    }

    /// <summary>
    /// RELOAD. Changed settings apply from now on (a smaller pool_size closes idle connections
    /// above it at once and busy ones as they come back; a changed server address or password is
    /// used for new connections, and open ones to the old server are closed when they come back);
    /// a new user gets its pool; a removed user's connections close as they come back.
    /// </summary>
    private void OnUpdate(UpdatePool update)
    {
        _pool = update.Pool;
        _general = update.General;
        var listed = ApplyServers(update.Pool, update.General);
        foreach (var (key, user) in _servers.ToList())
        {
            if (!listed.Contains(key))
            {
                var (sqlState, reason) = update.Pool.FindUser(user.User.Username) is null
                    ? (SqlState.InvalidAuthorizationSpecification, $"user \"{user.User.Username}\" was removed from pool {_pool.Name}")
                    : (SqlState.ConnectionFailure, $"server {user.Target.Host}:{user.Target.Port} was removed from pool {_pool.Name}");
                Fail(user.Desk.TakeAllWaiters(), sqlState, reason);
                user.Desk.ReconnectBefore = DateTime.MaxValue;
            }
            ShrinkTo(user);
            ExpireIdle(user, DateTime.UtcNow);
            Grow(user);
        }
        _node.Register(_pool.Name, new LocalPool(Self, RoutesByUser()));
        _log.LogInformation("pool {Pool}: reloaded ({Users})", _pool.Name,
            string.Join(", ", _pool.Users.Select(u => $"{u.Username} pool_size {u.PoolSize}")));
        WarmUp();
    }

    /// <summary>Closes idle connections above pool_size.</summary>
    private void ShrinkTo(ServerPool user)
    {
        var excess = user.Open.Count - user.User.PoolSize;
        if (excess <= 0)
            return;
        foreach (var server in user.Desk.RemoveIdleWhere(_ => excess-- > 0))
            Close(user, server, "above pool_size (lowered by RELOAD)");
    }

    private void OnAdmin(AdminPool command)
    {
        switch (command.Command)
        {
            case AdminCommand.Pause:
                if (!_paused)
                    _log.LogInformation("pool {Pool}: PAUSE: waiting for every server connection to come back", _pool.Name);
                _paused = true;
                foreach (var user in _servers.Values)
                    user.Desk.Pause();
                _pauseWaiters.Add(Sender);
                AnswerPauseIfIdle();
                break;
            case AdminCommand.Resume:
                _log.LogInformation("pool {Pool}: RESUME", _pool.Name);
                _paused = false;
                foreach (var waiter in _pauseWaiters)
                    waiter.Tell(AdminResult.Error(SqlState.QueryCanceled, $"pool {_pool.Name} was resumed before it was paused"));
                _pauseWaiters.Clear();
                foreach (var user in _servers.Values)
                {
                    user.Desk.Resume();
                    Grow(user);
                }
                Sender.Tell(AdminResult.Done);
                break;
            case AdminCommand.Reconnect:
                _log.LogInformation("pool {Pool}: RECONNECT: every server connection is closed once it comes back", _pool.Name);
                foreach (var user in _servers.Values)
                {
                    user.Desk.ReconnectBefore = DateTime.UtcNow;
                    ExpireIdle(user, DateTime.UtcNow);
                }
                Sender.Tell(AdminResult.Done);
                break;
            case AdminCommand.Kill:
                _log.LogInformation("pool {Pool}: KILL: closing every server connection now", _pool.Name);
                foreach (var user in _servers.Values)
                {
                    Fail(user.Desk.TakeAllWaiters(), SqlState.AdminShutdown, $"pool {_pool.Name} was killed by an administrator");
                    user.Desk.ReconnectBefore = DateTime.UtcNow;
                    foreach (var server in user.Open.ToList())
                        Close(user, server, "KILL");
                }
                Sender.Tell(AdminResult.Done);
                break;
            default:
                Sender.Tell(AdminResult.Error(SqlState.FeatureNotSupported, $"{command.Command} is not a pool command"));
                break;
        }
    }

    /// <summary>PAUSE answers once no server connection is lent.</summary>
    private void AnswerPauseIfIdle()
    {
        if (!_paused || _pauseWaiters.Count == 0)
            return;
        foreach (var user in _servers.Values)
            if (user.Desk.Observe().Idle.Length < user.Open.Count)
                return;
        _log.LogInformation("pool {Pool}: paused", _pool.Name);
        foreach (var waiter in _pauseWaiters)
            waiter.Tell(AdminResult.Done);
        _pauseWaiters.Clear();
    }

    private PoolReport Report()
    {
        var now = DateTime.UtcNow;
        var check = _general.HealthcheckDelay;
        var users = new List<UserReport>();
        foreach (var group in _servers.Values.GroupBy(s => s.User.Username))
        {
            var servers = new List<ServerInfo>();
            int used = 0, active = 0, idleCount = 0, login = 0, waiting = 0;
            long maxWait = 0;
            foreach (var user in group)
            {
                var (idle, waiters, oldest) = user.Desk.Observe();
                var idleSet = idle.ToHashSet();
                foreach (var server in user.Open)
                {
                    var isIdle = idleSet.Contains(server);
                    var isUsed = isIdle && check > TimeSpan.Zero && server.IdleFor >= check;
                    if (isUsed) used++;
                    else if (!isIdle) active++;
                    var local = server.LocalEndPoint as System.Net.IPEndPoint;
                    servers.Add(new ServerInfo($"server-{server.Id}", group.Key, user.Target.Database,
                        isUsed ? "used" : isIdle ? "idle" : "active", user.Target.Host, user.Target.Port,
                        local?.Address.ToString() ?? "", local?.Port ?? 0, server.ConnectedAt, server.LastUsed,
                        isIdle ? null : server.LentTo, server.KeyData?.ProcessId ?? 0,
                        server.Parameters.GetValueOrDefault("application_name")));
                }
                idleCount += idle.Length;
                login += user.Connecting;
                waiting += waiters;
                if (oldest is { } since)
                    maxWait = Math.Max(maxWait, (long)(now - since).TotalMicroseconds);
            }
            users.Add(new UserReport(group.Key, active, idleCount - used, used, login, waiting, maxWait, servers));
        }
        var bans = new List<BanInfo>();
        foreach (var health in _health.Values)
            if (health.BannedUntil(now) is { } until)
                bans.Add(new BanInfo(_pool.Name, health.Shard, health.Address.Host, health.Address.Port,
                    health.Role.ToConfigName(), until, health.BanReason ?? ""));
        return new PoolReport(users, _paused, bans);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Each user's servers, shard by shard in config order, for the sessions on this node.</summary>
    private IReadOnlyDictionary<string, UserRoutes> RoutesByUser()
    {
        var routes = new Dictionary<string, UserRoutes>(StringComparer.Ordinal);
        foreach (var user in _pool.Users)
        {
            var shards = new List<IReadOnlyList<RouteServer>>();
            for (var shard = 0; shard < _pool.Shards.Count; shard++)
            {
                var servers = new List<RouteServer>();
                for (var index = 0; index < _pool.Shards[shard].Servers.Count; index++)
                {
                    var key = ServerTarget.ServerKey(user.Username, shard, index);
                    var pool = _servers[key];
                    servers.Add(new RouteServer(pool.Health, pool.Desk, key));
                }
                shards.Add(servers);
            }
            routes[user.Username] = new UserRoutes(shards);
        }
        return routes;
    }

    public static Props Props(PoolConfig pool, GeneralConfig general, ClusterNode node, ILoggerFactory loggerFactory) =>
        Akka.Actor.Props.Create(() => new PoolSupervisor(pool, general, node, loggerFactory));

    protected override void PreStart()
    {
        _log.LogInformation("pool {Pool}: supervisor started ({Mode} mode, users: {Users})", _pool.Name, _pool.PoolMode.ToConfigName(),
            string.Join(", ", _pool.Users.Select(u => u.Username)));
        Timers.StartPeriodicTimer("janitor", JanitorTick.Instance, JanitorInterval);
        _node.Register(_pool.Name, new LocalPool(Self, RoutesByUser()));
        WarmUp();
    }

    /// <summary>
    /// The pool is moving to another node (sharding hand-off): no more lending here; sessions on
    /// this node look the pool up again and are relayed to its new owner. Transactions running now
    /// finish (within shutdown_timeout); then every connection is closed and the supervisor stops,
    /// and only then does the new owner open its own — the budget is never exceeded.
    /// </summary>
    private void BeginDrain()
    {
        if (_draining)
            return;
        _draining = true;
        _log.LogInformation("pool {Pool}: handing off to another node; draining {Open} server connection(s)", _pool.Name,
            _servers.Values.Sum(u => u.Open.Count));
        _node.Unregister(_pool.Name, Self);
        foreach (var user in _servers.Values)
        {
            user.Desk.Close();
            Fail(user.Desk.TakeAllWaiters(), PoolMovedState, $"pool {_pool.Name} moved to another node");
            foreach (var idle in user.Desk.RemoveIdleWhere(_ => true))
                Close(user, idle, "pool handed off");
        }
        var limit = _general.ShutdownTimeout > TimeSpan.Zero ? _general.ShutdownTimeout : TimeSpan.FromSeconds(1);
        Timers.StartSingleTimer("drain-limit", DrainDeadline.Instance, limit);
        StopIfDrained();
    }

    private void StopIfDrained()
    {
        if (_draining && _servers.Values.All(u => u.Open.Count == 0 && u.Connecting == 0))
            Context.Stop(Self);
    }

    protected override void PostStop()
    {
        _node.Unregister(_pool.Name, Self);
        _stopping.Cancel();
        foreach (var user in _servers.Values)
        {
            Fail(user.Desk.TakeAllWaiters(), SqlState.AdminShutdown, $"pool {_pool.Name} is shutting down");
            foreach (var server in user.Open)
                _ = server.DisposeAsync().AsTask();
        }
    }

    /// <summary>A session queued at the desk while the pool was below pool_size: open a connection if the line needs one.</summary>
    private void OnServerWanted(ServerWanted wanted)
    {
        if (!_draining && _servers.TryGetValue(wanted.Key, out var user))
            Grow(user);
    }

    private void OnCheckin(Checkin checkin)
    {
        if (!_servers.TryGetValue(checkin.Server.Target.Key, out var user))
        {
            _ = checkin.Server.RetireAsync(RetireLimit);
            return;
        }
        if (checkin.Server.IsClosed)
            return; // OnServerClosed accounts for it
        if (!checkin.Reusable || user.Desk.Expired(checkin.Server) || _draining || user.Open.Count > user.User.PoolSize)
        {
            Close(user, checkin.Server, checkin.Reusable ? "server_lifetime reached" : "returned in an unknown state");
            return;
        }
        HandOut(user, checkin.Server);
        AnswerPauseIfIdle();
    }

    private void OnGetServerParameters(GetServerParameters request)
    {
        if (_serverParameters is not null)
        {
            Sender.Tell(new CurrentServerParameters(_serverParameters));
            return;
        }
        var user = _servers.Values.Where(s => s.User.Username == request.User)
            .OrderBy(s => s.Target.Shard).ThenBy(s => s.Health.Role == ServerRole.Primary ? 0 : 1).FirstOrDefault();
        if (user is null)
        {
            Sender.Tell(new CheckoutFailed(SqlState.InvalidAuthorizationSpecification,
                $"user \"{request.User}\" has no pool in database \"{_pool.Name}\"", 0));
            return;
        }
        // No server has been opened yet: open one so its parameters can be reported.
        _parameterWaiters.Add((Sender, request.User));
        if (user.Total == 0)
            StartConnect(user);
    }

    private void OnServerConnected(ServerConnected connected)
    {
        var user = _servers[connected.Key];
        user.Connecting--;
        var server = connected.Server;
        if (_stopping.IsCancellationRequested || _draining)
        {
            _ = server.DisposeAsync().AsTask();
            StopIfDrained();
            return;
        }
        user.Opened(server);
        _log.LogInformation("pool {Pool}: opened {Server} (backend pid {Pid}; {Open}/{PoolSize} for user {User})", _pool.Name, server,
            server.KeyData?.ProcessId, user.Open.Count, user.User.PoolSize, user.User.Username);
        var self = Self;
        server.Closed.ContinueWith(t => self.Tell(new ServerClosed(connected.Key, server, t.Result)),
            TaskContinuationOptions.ExecuteSynchronously);

        if (_serverParameters is null)
        {
            _serverParameters = new Dictionary<string, string>(server.Parameters);
            foreach (var (replyTo, _) in _parameterWaiters)
                replyTo.Tell(new CurrentServerParameters(_serverParameters));
            _parameterWaiters.Clear();
        }
        HandOut(user, server);
    }

    private void OnServerConnectFailed(ServerConnectFailed failed)
    {
        var user = _servers[failed.Key];
        user.Connecting--;
        user.Desk.SetFull(user.Total >= user.User.PoolSize);
        _log.LogWarning("pool {Pool}: cannot open a server connection to {Server} for user {User}: {Reason}", _pool.Name,
            user.Health, user.User.Username, failed.Message);
        // With another server in the shard to go to, this one is left out for ban_time.
        if (user.Target.Shard < _pool.Shards.Count && _pool.Shards[user.Target.Shard].Servers.Count > 1 &&
            user.Health.Ban(_general.BanTime, failed.Message, DateTime.UtcNow))
            _log.LogWarning("pool {Pool}: server {Server} banned for {BanTime} s: {Reason}", _pool.Name, user.Health,
                _general.BanTime.TotalSeconds, failed.Message);
        // Every waiter would meet the same failure: tell them now rather than at a timeout.
        Fail(user.Desk.TakeAllWaiters(), failed.SqlState, failed.Message);
        foreach (var (replyTo, name) in _parameterWaiters.Where(w => w.User == user.User.Username).ToList())
        {
            replyTo.Tell(new CheckoutFailed(failed.SqlState, failed.Message, 0));
            _parameterWaiters.Remove((replyTo, name));
        }
    }

    private void OnServerClosed(ServerClosed closed)
    {
        var user = _servers[closed.Key];
        if (!user.Open.Contains(closed.Server))
            return;
        _log.LogInformation("pool {Pool}: {Server} closed: {Reason}", _pool.Name, closed.Server, closed.Reason);
        user.Forget(closed.Server);
        if (_draining)
            StopIfDrained();
        else
            Grow(user);
    }

    private void OnJanitorTick()
    {
        var now = DateTime.UtcNow;
        foreach (var user in _servers.Values)
        {
            ExpireWaiters(user);
            ShrinkTo(user); // connections above a lowered pool_size, once they are idle
            ExpireIdle(user, now);
        }
        AnswerPauseIfIdle(); // a connection the desk took back inline is not announced
        WarmUp();
        CheckReplicaLag();
    }

    private const int LagCheckTicks = 5; // janitor ticks (seconds) between replica lag checks
    private int _ticks;
    private bool _lagCheckRunning;

    /// <summary>
    /// max_replica_lag_bytes: every few seconds each replica's replay position is compared with its
    /// primary's WAL position, on idle connections borrowed for a moment (none idle: not measured).
    /// </summary>
    private void CheckReplicaLag()
    {
        if (_pool.MaxReplicaLagBytes <= 0 || _lagCheckRunning || _draining || ++_ticks % LagCheckTicks != 0)
            return;
        var shards = new List<(List<ServerPool> Primary, List<List<ServerPool>> Replicas)>();
        for (var shard = 0; shard < _pool.Shards.Count; shard++)
        {
            var sets = _servers.Values.Where(s => s.Target.Shard == shard && s.Health.Index < _pool.Shards[shard].Servers.Count).ToList();
            var primary = sets.Where(s => s.Health.Role == ServerRole.Primary).ToList();
            var replicas = sets.Where(s => s.Health.Role == ServerRole.Replica).GroupBy(s => s.Health.Index).Select(g => g.ToList()).ToList();
            if (primary.Count > 0 && replicas.Count > 0)
                shards.Add((primary, replicas));
        }
        if (shards.Count == 0)
            return;
        _lagCheckRunning = true;
        MeasureLagAsync(shards, Self, _stopping.Token).PipeTo(Self, failure: _ => new ReplicaLagMeasured([]));
    }

    private static async Task<ReplicaLagMeasured> MeasureLagAsync(List<(List<ServerPool> Primary, List<List<ServerPool>> Replicas)> shards,
        IActorRef self, CancellationToken cancellationToken)
    {
        var lags = new List<(ServerHealth, long?)>();
        foreach (var (primary, replicas) in shards)
        {
            var position = await QueryIdleAsync(primary, "SELECT pg_catalog.pg_current_wal_lsn()", self, cancellationToken);
            if (position is null)
                continue;
            foreach (var replica in replicas)
            {
                var lag = await QueryIdleAsync(replica,
                    $"SELECT pg_catalog.pg_wal_lsn_diff('{position}', pg_catalog.pg_last_wal_replay_lsn())::bigint", self, cancellationToken);
                lags.Add((replica[0].Health, long.TryParse(lag, out var bytes) ? bytes : null));
            }
        }
        return new ReplicaLagMeasured(lags);
    }

    /// <summary>Runs a one-value query on an idle connection of one of <paramref name="sets"/>; null when none is idle or it fails.</summary>
    private static async Task<string?> QueryIdleAsync(List<ServerPool> sets, string sql, IActorRef self, CancellationToken cancellationToken)
    {
        foreach (var set in sets)
        {
            if (!set.Desk.TryBorrowIdle(out var server))
                continue;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                var value = await server.RunInternalAsync(sql, timeout.Token);
                self.Tell(new Checkin(server, Reusable: true));
                return value;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                self.Tell(new Checkin(server, Reusable: false));
                return null;
            }
        }
        return null;
    }

    private void OnReplicaLagMeasured(ReplicaLagMeasured measured)
    {
        _lagCheckRunning = false;
        var limit = _pool.MaxReplicaLagBytes;
        foreach (var (replica, lag) in measured.Lags)
        {
            if (lag is not { } bytes || bytes <= limit)
                continue;
            var reason = $"replica lag {bytes} bytes of WAL, more than max_replica_lag_bytes ({limit})";
            if (replica.Ban(_general.BanTime, reason, DateTime.UtcNow))
                _log.LogWarning("pool {Pool}: server {Server} banned for {BanTime} s: {Reason}", _pool.Name, replica,
                    _general.BanTime.TotalSeconds, reason);
        }
    }

    private void ExpireWaiters(ServerPool user)
    {
        var limit = _general.QueryWaitTimeout;
        if (limit <= TimeSpan.Zero)
            return;
        var expired = user.Desk.TakeWaitersOlderThan(limit);
        if (expired.Count > 0)
            Fail(expired, SqlState.TooManyConnections,
                $"no server connection became free within query_wait_timeout ({limit.TotalMilliseconds:0} ms); " +
                $"all {user.User.PoolSize} of pool {_pool.Name} are busy: raise pool_size or query_wait_timeout");
    }

    private static void Fail(List<Waiter> waiters, string sqlState, string message)
    {
        foreach (var waiter in waiters)
            waiter.ReplyTo.TryComplete(new CheckoutFailed(sqlState, message, waiter.RequestId), waiter.RequestId, inline: false);
    }

    private void ExpireIdle(ServerPool user, DateTime now)
    {
        var idleTimeout = user.User.IdleTimeout;
        var open = user.Open.Count;
        var closed = 0;
        var expired = user.Desk.RemoveIdleWhere(server =>
        {
            var tooOld = user.Desk.Expired(server);
            var idleTooLong = idleTimeout > TimeSpan.Zero && server.IdleFor > idleTimeout
                && open - closed > user.User.MinPoolSize;
            if (server.IsClosed || tooOld || idleTooLong)
            {
                closed++;
                return true;
            }
            return false;
        });
        foreach (var server in expired)
            Close(user, server, user.Desk.Expired(server) ? "server_lifetime reached" : "idle_timeout reached");
    }

    /// <summary>Keeps min_pool_size connections open per user.</summary>
    private void WarmUp()
    {
        if (_draining)
            return;
        foreach (var user in _servers.Values)
            while (user.Total < user.User.MinPoolSize)
                StartConnect(user);
    }

    /// <summary>Opens connections while sessions wait and pool_size allows.</summary>
    private void Grow(ServerPool user)
    {
        while (user.Desk.WaitingCount > user.Connecting && user.Total < user.User.PoolSize)
            StartConnect(user);
        user.Desk.SetFull(user.Total >= user.User.PoolSize);
    }

    private void StartConnect(ServerPool user)
    {
        user.Connecting++;
        user.Desk.SetFull(user.Total >= user.User.PoolSize);
        var key = user.Target.Key;
        ConnectAsync(user.Target, MirrorsOf(user.Target), _stopping.Token).PipeTo(Self,
            success: server => new ServerConnected(key, server),
            failure: e => e is ServerLoginException login
                ? new ServerConnectFailed(key, login.SqlState, login.Message)
                : new ServerConnectFailed(key, SqlState.ConnectionFailure, e.Message));
    }

    /// <summary>The mirror servers (<c>mirrors</c>) of a server: the same login, another host.</summary>
    private List<ServerTarget> MirrorsOf(ServerTarget target)
    {
        if (target.Shard >= _pool.Shards.Count)
            return [];
        return _pool.Shards[target.Shard].Mirrors.Where(m => m.ServerIndex == target.Index)
            .Select(m => target with { Host = m.Host, Port = m.Port }).ToList();
    }

    /// <summary>
    /// Opens a server connection, and its mirrors' alongside: a mirror that is not logged in by the
    /// time the server is (or half a second later) is left out, so a slow mirror never delays the pool.
    /// </summary>
    private async Task<ServerConnection> ConnectAsync(ServerTarget target, List<ServerTarget> mirrors, CancellationToken cancellationToken)
    {
        var mirroring = mirrors.Select(m => MirrorConnection.ConnectAsync(m, cancellationToken)).ToList();
        ServerConnection server;
        try
        {
            server = await ServerConnection.ConnectAsync(target, cancellationToken);
        }
        catch
        {
            foreach (var pending in mirroring)
                _ = pending.ContinueWith(t => t.IsCompletedSuccessfully ? t.Result.DisposeAsync().AsTask() : Task.CompletedTask, TaskScheduler.Default);
            throw;
        }
        if (mirroring.Count == 0)
            return server;
        await Task.WhenAny(Task.WhenAll(mirroring), Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken));
        var ready = new List<MirrorConnection>();
        for (var i = 0; i < mirroring.Count; i++)
        {
            var pending = mirroring[i];
            if (pending.IsCompletedSuccessfully)
                ready.Add(pending.Result);
            else
            {
                _log.LogWarning("pool {Pool}: mirror {Mirror} of {Server} is not available ({Reason}); this connection runs without it",
                    _pool.Name, mirrors[i], server, pending.Exception?.InnerException?.Message ?? "no answer yet");
                _ = pending.ContinueWith(t => t.IsCompletedSuccessfully ? t.Result.DisposeAsync().AsTask() : Task.CompletedTask, TaskScheduler.Default);
            }
        }
        if (ready.Count > 0)
            server.UseMirrors(ready);
        return server;
    }

    /// <summary>A connection is free: the desk gives it to the first session in line, or keeps it idle.</summary>
    private void HandOut(ServerPool user, ServerConnection server)
    {
        if (!user.Desk.TryReturn(server, inline: false))
            Close(user, server, server.IsClosed ? "closed while idle" : "server_lifetime reached");
    }

    /// <summary>
    /// Closes a connection. It keeps counting against pool_size until its backend is really gone
    /// (<see cref="OnServerClosed"/>), so a backend still finishing a cancelled query never lets the
    /// pool open one connection too many.
    /// </summary>
    private void Close(ServerPool user, ServerConnection server, string reason)
    {
        _log.LogInformation("pool {Pool}: closing {Server}: {Reason}", _pool.Name, server, reason);
        user.Desk.RemoveIdle(server);
        _ = server.RetireAsync(RetireLimit);
    }
}
