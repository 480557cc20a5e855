using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Pooler.Core.Cluster;
using Pooler.Core.Wire;
using Pooler.Protocol;
using Pooler.Protocol.Auth;

namespace Pooler.Core.Servers;

/// <summary>
/// One PostgreSQL backend connection: logs in, then runs one reader loop for its whole life that
/// passes the server's bytes to whichever sink it is lent to. Only message headers are read on
/// the way, plus the whole of the few messages that change pooler state (ReadyForQuery,
/// ParameterStatus). Its owner is the pool's <c>PoolSupervisor</c>; the lent-to client writes
/// straight to <see cref="Output"/>.
/// </summary>
public sealed partial class ServerConnection : IAsyncDisposable
{
    private static long s_nextId;

    private readonly SocketDuplex _connection;
    private readonly Dictionary<string, string> _parameters = new(StringComparer.Ordinal);
    private readonly int _maxMessageSize;
    private readonly TaskCompletionSource<string> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IServerSink? _sink;
    private long _remaining; // bytes of a message still to pass through before the next header
    private int _disposed;

    private ServerConnection(SocketDuplex connection, ServerTarget target)
    {
        _connection = connection;
        _maxMessageSize = target.MaxMessageSize;
        Target = target;
        Id = Interlocked.Increment(ref s_nextId);
        ConnectedAt = DateTime.UtcNow;
        _connectedMs = _lastUsedMs = Environment.TickCount64;
    }

    public long Id { get; }
    public ServerTarget Target { get; }
    public DateTime ConnectedAt { get; }

    // Environment.TickCount64 (milliseconds, a coarse clock that is cheap to read): the connection is
    // touched twice per transaction, and its timeouts are in seconds.
    private readonly long _connectedMs;
    private long _lastUsedMs;

    /// <summary>How long ago the connection was opened.</summary>
    public TimeSpan Age => TimeSpan.FromMilliseconds(Environment.TickCount64 - _connectedMs);

    /// <summary>How long ago the connection was last lent or given back.</summary>
    public TimeSpan IdleFor => TimeSpan.FromMilliseconds(Environment.TickCount64 - Volatile.Read(ref _lastUsedMs));

    /// <summary>When the connection was last lent or given back (for SHOW SERVERS).</summary>
    public DateTime LastUsed => DateTime.UtcNow - IdleFor;

    /// <summary>The connection is being lent or given back now.</summary>
    public void Touch() => Volatile.Write(ref _lastUsedMs, Environment.TickCount64);
    public BackendKeyData? KeyData { get; private set; }
    public PipeWriter Output => _mirroring ?? _connection.Output;

    private MirroringWriter? _mirroring;

    /// <summary>
    /// From now on everything written to this server is copied to <paramref name="mirrors"/>; they
    /// close with it. Called before the connection is first lent, so each mirror sees the whole session.
    /// </summary>
    public void UseMirrors(IReadOnlyList<MirrorConnection> mirrors)
    {
        _mirroring = new MirroringWriter(_connection.Output, mirrors);
        _ = Closed.ContinueWith(async _ =>
        {
            foreach (var mirror in mirrors)
                await mirror.DisposeAsync();
        }, TaskScheduler.Default);
    }

    /// <summary>The clients' named prepared statements this connection holds (transaction and statement mode).</summary>
    public ServerStatements Statements { get; } = new();

    /// <summary>Counts the lendings; a statement used under the current one is not closed to make room.</summary>
    public long LeaseStamp { get; private set; }

    /// <summary>A new lending begins (see <see cref="LeaseStamp"/>).</summary>
    public long NextLeaseStamp() => ++LeaseStamp;
    public System.Net.EndPoint? LocalEndPoint => _connection.LocalEndPoint;

    /// <summary>The client this connection is lent to right now, if any (SHOW SERVERS' link).</summary>
    public string? LentTo => (Volatile.Read(ref _sink) as Clients.ClientLease)?.ClientId;

    /// <summary>The server's session parameters as it last reported them (ParameterStatus).</summary>
    public IReadOnlyDictionary<string, string> Parameters => _parameters;

    /// <summary>Completes with the reason once the connection is gone.</summary>
    public Task<string> Closed => _closed.Task;

    public bool IsClosed => _closed.Task.IsCompleted;

    public override string ToString() => $"server-{Id} ({Target})";

    /// <summary>
    /// Connects, authenticates with whatever the server asks, and starts the reader loop. With
    /// <paramref name="lend"/>, the connection is lent to the sink it makes before anything after
    /// the login is read: a relay's owner can ask for the relay back right after its login (it is
    /// shutting down), in the same packet as the login's ReadyForQuery, and that request must reach
    /// the lease, not be read as an unsolicited message.
    /// </summary>
    public static async Task<ServerConnection> ConnectAsync(ServerTarget target, CancellationToken cancellationToken,
        Func<ServerConnection, IServerSink>? lend = null)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (target.ConnectTimeout > TimeSpan.Zero)
            timeout.CancelAfter(target.ConnectTimeout);
        SocketDuplex connection;
        try
        {
            connection = await SocketDuplex.ConnectAsync(target.Host, target.Port, timeout.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            var reason = e is OperationCanceledException
                ? $"no answer within connect_timeout ({target.ConnectTimeout.TotalMilliseconds:0} ms)"
                : e.Message;
            throw new ServerLoginException(SqlState.ConnectionFailure,
                $"could not connect to server {target.Host}:{target.Port}: {reason}");
        }

        var server = new ServerConnection(connection, target);
        try
        {
            await server.LoginAsync(timeout.Token);
        }
        catch (Exception e)
        {
            await server.DisposeAsync();
            throw e switch
            {
                ServerLoginException => e,
                OperationCanceledException => new ServerLoginException(SqlState.ConnectionFailure,
                    $"server {target.Host}:{target.Port} did not finish login within connect_timeout"),
                AuthenticationFailedException or ProtocolViolationException => new ServerLoginException(
                    SqlState.ConnectionFailure, $"login to server {target} failed: {e.Message}"),
                _ => new ServerLoginException(SqlState.ConnectionFailure, $"login to server {target} failed: {e.Message}"),
            };
        }
        if (lend is not null)
            server.Attach(lend(server));
        _ = server.ReadLoopAsync();
        return server;
    }

    private async Task LoginAsync(CancellationToken cancellationToken)
    {
        var input = _connection.Input;
        if (Target.Relay is { } relay)
        {
            // The owner node speaks first: a nonce for the handshake's proof.
            var nonce = await PipeMessages.ReadAsync(input, _maxMessageSize, cancellationToken)
                ?? throw new ServerLoginException(SqlState.ConnectionFailure, $"{Target} closed during the relay handshake");
            if (nonce.Type == BackendMessageType.ErrorResponse)
            {
                // Refused before the handshake (max_relayed_connections): pass the owner's reason on.
                var refusal = ErrorResponse.Read(nonce.Payload);
                throw new ServerLoginException(refusal.SqlState ?? SqlState.ConnectionFailure, refusal.Message ?? "relay refused");
            }
            if (nonce.Type != RelayHandshake.NonceType)
                throw new ServerLoginException(SqlState.ConnectionFailure, $"{Target} is not a Pooler relay port");
            relay.Write(Output, nonce.Payload, Target.RelaySecret ?? "");
        }
        else
        {
            StartupMessage.Create(Target.User, Target.Database).WriteTo(Output);
        }
        await Output.FlushAsync(cancellationToken);
        var authenticator = new ClientAuthenticator(Target.User, Target.Password);
        while (true)
        {
            var message = await PipeMessages.ReadAsync(input, _maxMessageSize, cancellationToken)
                ?? throw new ServerLoginException(SqlState.ConnectionFailure,
                    $"server {Target.Host}:{Target.Port} closed the connection during login");
            switch (message.Type)
            {
                case BackendMessageType.Authentication:
                    authenticator.Handle(message.Payload, Output);
                    await Output.FlushAsync(cancellationToken);
                    break;
                case BackendMessageType.ParameterStatus:
                    var parameter = ParameterStatus.Read(message.Payload);
                    _parameters[parameter.Name] = parameter.Value;
                    break;
                case BackendMessageType.BackendKeyData:
                    KeyData = BackendKeyData.Read(message.Payload);
                    break;
                case BackendMessageType.ErrorResponse:
                    var error = ErrorResponse.Read(message.Payload);
                    throw new ServerLoginException(
                        error.SqlState ?? SqlState.ConnectionFailure,
                        $"server {Target} refused the login: {error.Message}");
                case BackendMessageType.ReadyForQuery:
                    return;
                default:
                    // NoticeResponse, NegotiateProtocolVersion: nothing to act on here.
                    break;
            }
        }
    }

    /// <summary>Lends the connection: from now on its bytes go to <paramref name="sink"/>.</summary>
    public void Attach(IServerSink sink)
    {
        Touch();
        Volatile.Write(ref _sink, sink);
    }

    /// <summary>
    /// Ends the connection without losing track of the backend: its query (if any) is cancelled, a
    /// Terminate is sent, and the reader keeps discarding until PostgreSQL closes its end, so the
    /// backend is really gone when <see cref="Closed"/> completes (a plain close leaves a busy
    /// backend running until its query ends, and the pool would count one connection too few).
    /// </summary>
    public async Task RetireAsync(TimeSpan limit)
    {
        Volatile.Write(ref _sink, null);
        try
        {
            if (KeyData is { } key && !Target.IsRelay)
                await PostgresCancel.SendAsync(Target.Host, Target.Port, key, limit);
            Terminate.Write(Output);
            await Output.FlushAsync();
            await Closed.WaitAsync(limit);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Unreachable or too slow: close our end and let PostgreSQL notice.
        }
        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _closed.TrySetResult("closed by the pooler");
        try
        {
            // A polite Terminate lets PostgreSQL end the backend at once instead of logging an EOF.
            Terminate.Write(Output);
            await Output.FlushAsync();
        }
        catch (Exception)
        {
            // The socket may already be gone; closing it is all that is left.
        }
        await _connection.DisposeAsync();
    }
}
