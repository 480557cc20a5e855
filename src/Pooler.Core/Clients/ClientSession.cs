using Akka.Actor;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Pooler.Config;
using Pooler.Core.Pools;
using Pooler.Core.Servers;
using static Pooler.Core.Pools.PoolProtocol;

namespace Pooler.Core.Clients;

/// <summary>
/// One client connection. The actor is the session's mailbox for control (assignments from the
/// pool, cancel, shutdown); the session's work — startup, authentication, forwarding the
/// client's bytes to the server connection it holds — runs as one async loop over the client's
/// pipes (see the partial files). Server bytes come back on the server connection's own loop.
/// </summary>
public sealed partial class ClientSession : ReceiveActor
{
    private readonly ConnectionContext _client;
    private readonly PoolerServices _services;
    private readonly TaskCompletionSource _done;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _closing = new();
    private readonly Dictionary<string, string> _desiredSettings = new(StringComparer.OrdinalIgnoreCase);
    private IActorRef _self = ActorRefs.Nobody;
    private CheckoutReply? _checkoutReply;
    private TaskCompletionSource<object>? _reply;
    private long _requestId;
    private IActorRef? _pool;
    private ServerDesk? _desk;
    private PoolConfig? _poolConfig;
    private PoolMode _poolMode;
    private string _userName = "";
    private ClientLease? _lease;
    private int _processId;
    private readonly bool _relayed;      // this is the owner's side of a client relayed from another node
    private ServerTarget? _relayTarget;  // set while this client's pool lives on another node

    public ClientSession(ConnectionContext client, PoolerServices services, TaskCompletionSource done, bool relayed = false)
    {
        _relayed = relayed;
        _client = client;
        _services = services;
        _done = done;
        _log = services.LoggerFactory.CreateLogger<ClientSession>();
        // Checkouts are answered through CheckoutReply; the mailbox takes the rarer replies (login).
        ReceiveAny(message => Volatile.Read(ref _reply)?.TrySetResult(message));
    }

    public static Props Props(ConnectionContext client, PoolerServices services, TaskCompletionSource done, bool relayed = false) =>
        Akka.Actor.Props.Create(() => new ClientSession(client, services, done, relayed));

    internal bool IsStopping => _services.Stopping.IsCancellationRequested;

    /// <summary>The connection id, as in logs and SHOW CLIENTS.</summary>
    public string Id => _client.ConnectionId;

    protected override void PreStart()
    {
        _self = Self;
        _services.Track(this);
        _checkoutReply = new CheckoutReply(this);
        _closing.Token.Register(_checkoutReply.Abandon);
        // The node's tokens outlive the session: these are undone when it ends (RunGuardedAsync),
        // else each would keep the whole session (actor, buffers, tasks) alive until the node stops.
        _onNodeStopping = _services.Stopping.Register(OnNodeStopping);
        _onStopNow = _services.StopNow.Register(() => _closing.Cancel());
        _ = Task.Run(RunGuardedAsync);
    }

    private CancellationTokenRegistration _onNodeStopping, _onStopNow;

    protected override void PostStop() => _closing.Cancel();

    /// <summary>
    /// Gives a server connection back: a clean one to the desk (the next session in line gets it on
    /// this thread), anything else to the supervisor, which closes it.
    /// </summary>
    internal void ReturnServer(ServerConnection server, bool reusable)
    {
        if (server.Target.IsRelay)
        {
            _ = server.DisposeAsync().AsTask(); // the owner's session ends and returns its server there
            return;
        }
        if (reusable && DeskOf(server) is { } desk && desk.TryReturn(server, inline: true))
            return;
        _pool?.Tell(new Checkin(server, reusable));
    }

    /// <summary>A server connection in an unknown state: closed (a relay) or handed to the supervisor to close.</summary>
    private void DiscardServer(ServerConnection server) => ReturnServer(server, reusable: false);

    /// <summary>Sends one control request and waits for its answer (one at a time per session).</summary>
    private Task<object> RequestAsync(IActorRef target, Func<long, object> create)
    {
        var id = Interlocked.Increment(ref _requestId);
        var reply = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _reply, reply);
        target.Tell(create(id), _self);
        return reply.Task;
    }

    private async Task RunGuardedAsync()
    {
        var admitted = false;
        try
        {
            admitted = _relayed ? _services.TryAdmitRelayed() : _services.TryAdmitClient();
            if (admitted)
                await RunAsync();
            else if (_relayed)
                await RefuseTooManyRelayedAsync();
            else
                await RefuseTooManyClientsAsync();
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
            // Closed on purpose (shutdown, kill): nothing more to say.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.LogWarning("client {Client}: session ended by an error: {Error}", Id, e.Message);
        }
        finally
        {
            await EndSessionAsync();
            if (_processId != 0 && General.LogClientDisconnections)
                _log.LogInformation("client {Client} from {Remote}: {User}@{Pool} disconnected", Id, _client.RemoteEndPoint,
                    _userName, _poolConfig?.Name);
            if (admitted && _relayed)
                _services.ReleaseRelayed();
            else if (admitted)
                _services.ReleaseClient();
            if (_processId != 0)
                _services.CancelKeys.Unregister(_processId);
            _services.Untrack(this);
            _onNodeStopping.Unregister();
            _onStopNow.Unregister();
            _done.TrySetResult();
            _self.Tell(PoisonPill.Instance);
        }
    }
}
