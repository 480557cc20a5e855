using System.Buffers;
using System.IO.Pipelines;
using Akka.Actor;
using Pooler.Core.Pools;
using Microsoft.Extensions.Logging;
using Pooler.Config;
using Pooler.Core.Cluster;
using Pooler.Core.Servers;
using Pooler.Core.Wire;
using Pooler.Protocol;
using static Pooler.Core.Pools.PoolProtocol;

namespace Pooler.Core.Clients;

public sealed partial class ClientSession
{
    /// <summary>The startup parameters that follow a client from server connection to server connection.</summary>
    internal static readonly string[] TrackedSettings =
    [
        "application_name", "client_encoding", "DateStyle", "TimeZone", "IntervalStyle",
        "standard_conforming_strings", "search_path",
    ];

    private PipeReader Input => _client.Transport.Input;
    private PipeWriter Output => _client.Transport.Output;
    private GeneralConfig General => _services.Config.General;

    private async Task RunAsync()
    {
        var loginTimeout = General.ClientLoginTimeout > TimeSpan.Zero ? General.ClientLoginTimeout : Timeout.InfiniteTimeSpan;
        using var login = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        login.CancelAfter(loginTimeout);
        Volatile.Write(ref _login, login);
        if (Volatile.Read(ref _loginPhase) == StoppedDuringLogin)
            login.Cancel(); // shutdown began before this session started
        bool loggedIn;
        try
        {
            if (_relayed)
            {
                loggedIn = await RelayLoginAsync(login.Token);
            }
            else
            {
                var startup = await ReadStartupAsync(login.Token);
                if (startup is null)
                    return;
                loggedIn = await LoginAsync(startup, login.Token);
            }
        }
        catch (OperationCanceledException) when (Volatile.Read(ref _loginPhase) == StoppedDuringLogin && !_closing.IsCancellationRequested)
        {
            // A relayed client's entry node takes this as "try again": by then the pool has moved on.
            await PipeMessages.WriteErrorAsync(Output, ErrorSeverity.Fatal, SqlState.AdminShutdown,
                "terminating connection: Pooler is shutting down", hint: "reconnect to another Pooler node");
            return;
        }
        catch (OperationCanceledException) when (login.IsCancellationRequested && !_closing.IsCancellationRequested)
        {
            _log.LogInformation("client {Client} from {Remote}: dropped, login not finished within client_login_timeout",
                Id, _client.RemoteEndPoint);
            await PipeMessages.WriteErrorAsync(Output, ErrorSeverity.Fatal, SqlState.ProtocolViolation,
                "login not finished within client_login_timeout");
            return;
        }
        catch (ProtocolViolationException e)
        {
            _log.LogWarning("client {Client} from {Remote}: protocol violation during startup: {Reason}",
                Id, _client.RemoteEndPoint, e.Message);
            await PipeMessages.WriteErrorAsync(Output, ErrorSeverity.Fatal, SqlState.ProtocolViolation, e.Message);
            return;
        }
        if (!loggedIn)
            return;
        if (Interlocked.Exchange(ref _loginPhase, LoggedIn) == StoppedDuringLogin)
            OnNodeStopping(); // shutdown began as the login finished: now it can be answered
        if (_admin)
            await new Admin.AdminConsole(_services.Admin!, General.MaxMessageSize).RunAsync(Input, Output, _closing.Token);
        else
            await ForwardAsync();
    }

    /// <summary>Reads startup packets until a StartupMessage; null when the client is done (cancel, hang-up).</summary>
    private async Task<StartupMessage?> ReadStartupAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await Input.ReadAsync(cancellationToken);
            var buffer = read.Buffer;
            var status = StartupFrameScanner.TryReadFrame(buffer, StartupFrameScanner.DefaultMaxLength, out var frame);
            if (status == FrameStatus.Incomplete)
            {
                if (read.IsCompleted)
                    return null;
                Input.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }
            if (status != FrameStatus.Complete)
                throw new ProtocolViolationException(
                    StartupFrameScanner.Describe(status, frame.Header, StartupFrameScanner.DefaultMaxLength));
            var payload = frame.Payload.ToArray();
            Input.AdvanceTo(frame.End);
            switch (frame.Header.Kind)
            {
                case StartupRequestKind.SslRequest:
                case StartupRequestKind.GssEncRequest:
                    // Encryption is not offered: 'N' tells the client to go on in plain text.
                    Output.Write([SslRequest.Refuse]);
                    await Output.FlushAsync(cancellationToken);
                    continue;
                case StartupRequestKind.CancelRequest:
                    await ForwardCancelAsync(CancelRequest.Read(payload));
                    return null;
                case StartupRequestKind.Unsupported:
                    throw new ProtocolViolationException(
                        $"unsupported frontend protocol {frame.Header.Code >> 16}.{frame.Header.Code & 0xFFFF}: Pooler speaks protocol 3.0");
                default:
                    return StartupMessage.Read(payload);
            }
        }
    }

    private async Task<bool> LoginAsync(StartupMessage startup, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(startup.User))
            return await FailLoginAsync(SqlState.InvalidAuthorizationSpecification, "no user name specified in startup packet");
        _userName = startup.User;
        var database = string.IsNullOrEmpty(startup.Database) ? startup.User : startup.Database;
        if (startup["replication"] is { } replication && replication != "false" && replication != "0")
            return await FailLoginAsync(SqlState.FeatureNotSupported,
                "replication connections are not pooled; connect to PostgreSQL directly");

        if (AdminDatabases.Contains(database) && _services.Config.FindPool(database) is null)
            return await AdminLoginAsync(database, cancellationToken);
        if (_services.IsDisabled(database))
            return await FailLoginAsync(SqlState.ObjectNotInPrerequisiteState,
                $"database \"{database}\" does not allow connections: an administrator disabled it (ENABLE {database} on the admin console)");

        _poolConfig = _services.Config.FindPool(database);
        if (_poolConfig is null)
        {
            _log.LogInformation("client {Client} from {Remote}: user={User} asked for unknown database {Database}",
                Id, _client.RemoteEndPoint, _userName, database);
            return await FailLoginAsync(SqlState.InvalidCatalogName,
                $"database \"{database}\" does not exist: Pooler has no pool by that name");
        }

        var user = _poolConfig.FindUser(_userName);
        var result = await ClientAuthentication.AuthenticateWithReasonAsync(Input, Output, _userName, user?.Password,
            user?.AuthType ?? General.AuthType, General.MaxMessageSize, cancellationToken);
        if (result.Outcome != ClientAuthOutcome.Authenticated)
        {
            if (result.Outcome == ClientAuthOutcome.Failed)
                _log.LogInformation("client {Client} from {Remote}: login as {User} to {Database} failed: {Reason}",
                    Id, _client.RemoteEndPoint, _userName, database, result.Reason);
            return false;
        }

        foreach (var (name, value) in startup.Parameters)
            if (Array.Exists(TrackedSettings, s => s.Equals(name, StringComparison.OrdinalIgnoreCase)))
                _desiredSettings[name] = value;
        StartupOptions.Apply(startup.Options, _desiredSettings);
        // The user's statement_timeout is one more setting applied on every server connection.
        if (user!.StatementTimeout > TimeSpan.Zero)
            _desiredSettings["statement_timeout"] = ((long)user.StatementTimeout.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        _poolMode = user.PoolMode;
        TrackStatements();

        if (!await ResolvePoolAsync(cancellationToken, fresh: false))
            return false;
        var parameters = _relayTarget is null ? null : _services.Node.KnownServerParameters(_poolConfig.Name);
        if (parameters is null)
        {
            if (await AskServerParametersAsync(cancellationToken) is not { } reply)
                return await FailLoginAsync(SqlState.ConnectionFailure,
                    $"pool {_poolConfig.Name} did not answer within {PoolLookupLimit.TotalSeconds:0} s (it is moving or its node failed); try again");
            if (reply is CheckoutFailed failed)
                return await FailLoginAsync(failed.SqlState, failed.Message);
            parameters = ((CurrentServerParameters)reply).Parameters;
            if (_relayTarget is not null)
                _services.Node.RememberServerParameters(_poolConfig.Name, parameters);
        }
        CountAs(_poolConfig.Name, _userName);
        WriteLoginReply(parameters);
        await Output.FlushAsync(cancellationToken);
        if (General.LogClientConnections)
            _log.LogInformation("client {Client} from {Remote}: login as {User} to {Database} ({Mode} mode)",
                Id, _client.RemoteEndPoint, _userName, _poolConfig.Name, _poolMode.ToConfigName());
        return true;
    }

    /// <summary>The virtual databases of the admin console (PgBouncer's name, and ours).</summary>
    private static readonly HashSet<string> AdminDatabases = new(StringComparer.Ordinal) { "pgbouncer", "pooler" };

    private bool _admin;

    /// <summary>A login to the admin console: only admin_username, with admin_password.</summary>
    private async Task<bool> AdminLoginAsync(string database, CancellationToken cancellationToken)
    {
        if (!General.AdminConsoleEnabled || _services.Admin is null)
            return await FailLoginAsync(SqlState.InvalidCatalogName,
                $"database \"{database}\" does not exist: the admin console is off (set admin_username and admin_password in [general])");
        if (_userName != General.AdminUsername)
        {
            _log.LogInformation("client {Client} from {Remote}: user {User} refused on the admin console (not admin_username)",
                Id, _client.RemoteEndPoint, _userName);
            return await FailLoginAsync(SqlState.InsufficientPrivilege,
                $"permission denied: user \"{_userName}\" may not use the admin console; connect as the admin user (admin_username)");
        }
        var result = await ClientAuthentication.AuthenticateWithReasonAsync(Input, Output, _userName, General.AdminPassword,
            General.AdminAuthType, General.MaxMessageSize, cancellationToken);
        if (result.Outcome != ClientAuthOutcome.Authenticated)
        {
            if (result.Outcome == ClientAuthOutcome.Failed)
                _log.LogInformation("client {Client} from {Remote}: admin console login as {User} failed: {Reason}",
                    Id, _client.RemoteEndPoint, _userName, result.Reason);
            return false;
        }
        foreach (var (name, value) in new[]
                 {
                     ("server_version", "15.0 (Pooler admin console)"), ("server_encoding", "UTF8"), ("client_encoding", "UTF8"),
                     ("DateStyle", "ISO"), ("integer_datetimes", "on"), ("standard_conforming_strings", "on"),
                 })
            new ParameterStatus(name, value).WriteTo(Output);
        var (processId, secret) = _services.CancelKeys.Register(this);
        _processId = processId;
        new BackendKeyData(processId, secret).WriteTo(Output);
        ReadyForQuery.Write(Output, TransactionStatus.Idle);
        await Output.FlushAsync(cancellationToken);
        _admin = true;
        _log.LogInformation("client {Client} from {Remote}: admin console login as {User}", Id, _client.RemoteEndPoint, _userName);
        return true;
    }

    /// <summary>
    /// Finds the node that owns this client's pool: this one (the session takes connections from
    /// the pool's desk here), or another one (the session is relayed there, see
    /// <see cref="RelayCheckoutAsync"/>). False, with the client told why, when that cannot be done.
    /// A login trusts what this node already knows (<paramref name="fresh"/> false); a session that
    /// found that wrong asks the cluster.
    /// </summary>
    private async Task<bool> ResolvePoolAsync(CancellationToken cancellationToken, bool fresh = true)
    {
        var pool = _poolConfig!.Name;
        var deadline = DateTime.UtcNow + PoolLookupLimit;
        if (fresh)
            _services.Node.ForgetOwner(pool);
        while (true)
        {
            PoolLocation? location = fresh ? null : _services.Node.FindLocal(pool) is not null
                ? _services.Node.LocationOf(pool)
                : _services.Node.KnownOwner(pool);
            fresh = true;
            try
            {
                location ??= await _services.PoolRegion.Ask<PoolLocation>(new PoolEnvelope(pool, new GetPoolLocation()),
                    PoolLookupAttempt, cancellationToken);
                _services.Node.RememberOwner(location);
            }
            catch (AskTimeoutException)
            {
                // The pool is moving (hand-off, or its node failed and is not yet downed): ask again.
                _log.LogDebug("client {Client}: no answer from pool {Pool} within {Attempt} ms; asking again", Id, pool,
                    PoolLookupAttempt.TotalMilliseconds);
            }
            if (location is not null)
            {
                if (location.OwnerAddress == _services.Node.SelfAddress)
                {
                    if (_services.Node.FindLocal(pool) is { } local)
                    {
                        _pool = local.Supervisor;
                        UseRoutes(local.Routes.GetValueOrDefault(_userName));
                        _relayTarget = null;
                        return true;
                    }
                }
                else
                {
                    // (A relayed session whose pool moved away meanwhile relays on, for the one
                    // transaction its entry node already sent; then it ends, see OnLeaseEnded.)
                    if (_services.Config.Cluster.Secret is not { } secret)
                        return await FailLoginAsync(SqlState.ConnectionFailure,
                            $"pool {pool} lives on node {location.OwnerAddress}, but this node has no [cluster] secret to relay clients there");
                    _pool = null;
                    UseRoutes(null);
                    _relayTarget = new ServerTarget(_userName, location.RelayHost, location.RelayPort, pool, _userName, null,
                        _services.Config.General.ConnectTimeout, General.MaxMessageSize)
                    {
                        Relay = new RelayHandshake(pool, _userName, _desiredSettings, _services.Node.SelfAddress, Id,
                            location.ClientHost, location.ClientPort),
                        RelaySecret = secret,
                    };
                    return true;
                }
            }
            if (DateTime.UtcNow > deadline)
                return await FailLoginAsync(SqlState.ConnectionFailure,
                    $"pool {pool} is not available on any node right now (it is moving or its node failed); try again");
            await Task.Delay(PoolLookupRetry, cancellationToken);
        }
    }

    /// <summary>
    /// Asks the pool for the server parameters a login reports (the pool opens a server connection
    /// first if it has none). Asked again every <see cref="ParametersAttempt"/>: a request that
    /// reached the pool while it was being handed to another node is dropped, and the pool's new
    /// home answers the next one. Null when no answer came within <see cref="PoolLookupLimit"/>.
    /// </summary>
    private async Task<object?> AskServerParametersAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + PoolLookupLimit;
        while (true)
        {
            var request = RequestAsync(_services.PoolRegion, _ => new PoolEnvelope(_poolConfig!.Name, new GetServerParameters(_userName)));
            try
            {
                return await request.WaitAsync(ParametersAttempt, cancellationToken);
            }
            catch (TimeoutException)
            {
                if (DateTime.UtcNow > deadline)
                    return null;
                _log.LogDebug("client {Client}: pool {Pool} has not reported its server parameters within {Attempt} ms; asking again",
                    Id, _poolConfig!.Name, ParametersAttempt.TotalMilliseconds);
            }
        }
    }

    /// <summary>
    /// Longer than a pool lookup: the pool may have to open its first server connection to answer
    /// (its supervisor answers every request it holds once that is done).
    /// </summary>
    private static readonly TimeSpan ParametersAttempt = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan PoolLookupAttempt = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PoolLookupRetry = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a session waits for its pool to become available (failover takes seconds).</summary>
    private TimeSpan PoolLookupLimit =>
        TimeSpan.FromSeconds(Math.Max(30, General.QueryWaitTimeout.TotalSeconds));

    /// <summary>
    /// The owner's side of a relayed client: another node authenticated it and proves that with
    /// the cluster secret; from then on this is an ordinary session on the pool's own node.
    /// </summary>
    private async Task<bool> RelayLoginAsync(CancellationToken cancellationToken)
    {
        if (_services.Config.Cluster.Secret is not { } secret)
            return await FailLoginAsync(SqlState.InvalidAuthorizationSpecification,
                "this node accepts no relayed connections: [cluster] secret is not set");
        var nonce = RelayHandshake.NewNonce();
        RelayHandshake.WriteNonce(Output, nonce);
        await Output.FlushAsync(cancellationToken);
        var message = await PipeMessages.ReadAsync(Input, General.MaxMessageSize, cancellationToken);
        if (message is null)
            return false;
        string? problem = "not a relay handshake";
        RelayHandshake? handshake = null;
        if (message.Value.Type == RelayHandshake.HandshakeType)
            handshake = RelayHandshake.Read(message.Value.Payload, nonce, secret, out problem);
        if (handshake is null)
        {
            _log.LogWarning("relay connection {Client} from {Remote} refused: {Problem}", Id, _client.RemoteEndPoint, problem);
            return await FailLoginAsync(SqlState.InvalidAuthorizationSpecification, $"relay refused: {problem}");
        }
        _userName = handshake.UserName;
        _poolConfig = _services.Config.FindPool(handshake.PoolName);
        var user = _poolConfig?.FindUser(_userName);
        if (_poolConfig is null || user is null)
            return await FailLoginAsync(SqlState.InvalidAuthorizationSpecification,
                $"relay refused: this node has no pool {handshake.PoolName} for user {_userName}");
        foreach (var (name, value) in handshake.Settings)
            _desiredSettings[name] = value;
        _poolMode = user.PoolMode;
        TrackStatements();
        if (_services.Node.FindLocal(_poolConfig.Name) is not { } local)
            return await FailLoginAsync(SqlState.ConnectionFailure,
                $"relay refused: pool {_poolConfig.Name} is not on this node (any more)");
        _pool = local.Supervisor;
        UseRoutes(local.Routes.GetValueOrDefault(_userName));
        _relayedFrom = handshake.EntryNode;
        CountAs(_poolConfig.Name, _userName);
        var (processId, keySecret) = _services.CancelKeys.Register(this);
        _processId = processId;
        new BackendKeyData(processId, keySecret).WriteTo(Output);
        ReadyForQuery.Write(Output, TransactionStatus.Idle);
        await Output.FlushAsync(cancellationToken);
        if (General.LogClientConnections)
            _log.LogInformation("client {Client}: relayed from {Entry} (its client {EntryClient}) as {User}@{Pool} ({Mode} mode)",
                Id, handshake.EntryNode, handshake.ClientId, _userName, _poolConfig.Name, _poolMode.ToConfigName());
        return true;
    }

    /// <summary>ParameterStatus for every server parameter (the client's own choices win), our key, ReadyForQuery.</summary>
    private void WriteLoginReply(IReadOnlyDictionary<string, string> serverParameters)
    {
        foreach (var (name, value) in serverParameters)
        {
            var shown = _desiredSettings.TryGetValue(name, out var desired) ? desired : value;
            new ParameterStatus(name, shown).WriteTo(Output);
            // What the client was told is what it expects on every server it gets from now on.
            if (Array.Exists(TrackedSettings, s => s.Equals(name, StringComparison.OrdinalIgnoreCase)))
                _desiredSettings.TryAdd(name, value);
        }
        foreach (var (name, value) in _desiredSettings)
            if (!serverParameters.ContainsKey(name) && name != "search_path")
                new ParameterStatus(name, value).WriteTo(Output);
        var (processId, secret) = _services.CancelKeys.Register(this);
        _processId = processId;
        new BackendKeyData(processId, secret).WriteTo(Output);
        ReadyForQuery.Write(Output, TransactionStatus.Idle);
    }

    private async Task<bool> FailLoginAsync(string sqlState, string message)
    {
        await PipeMessages.WriteErrorAsync(Output, ErrorSeverity.Fatal, sqlState, message);
        return false;
    }

    private async Task RefuseTooManyRelayedAsync()
    {
        _log.LogWarning("relay connection {Client} from {Remote}: refused, max_relayed_connections ({Limit}) reached",
            Id, _client.RemoteEndPoint, _services.Config.Cluster.MaxRelayedConnections);
        await PipeMessages.WriteErrorAsync(Output, ErrorSeverity.Fatal, SqlState.TooManyConnections,
            $"this node serves too many relayed clients already: max_relayed_connections ({_services.Config.Cluster.MaxRelayedConnections}) reached");
    }

    private async Task RefuseTooManyClientsAsync()
    {
        // Answer the startup phase first (SSLRequest wants one byte, not an error), as PostgreSQL
        // does: a client that asked for TLS could not read the error otherwise.
        using var login = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        login.CancelAfter(General.ClientLoginTimeout > TimeSpan.Zero ? General.ClientLoginTimeout : TimeSpan.FromSeconds(60));
        try
        {
            if (await ReadStartupAsync(login.Token) is null)
                return;
        }
        catch (Exception e) when (e is OperationCanceledException or ProtocolViolationException)
        {
            return;
        }
        _log.LogWarning("client {Client} from {Remote}: refused, max_client_conn ({Limit}) reached",
            Id, _client.RemoteEndPoint, General.MaxClientConnections);
        await PipeMessages.WriteErrorAsync(Output, ErrorSeverity.Fatal, SqlState.TooManyConnections,
            $"sorry, too many clients already: max_client_conn ({General.MaxClientConnections}) reached");
    }
}
