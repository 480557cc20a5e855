using Akka.Actor;
using System.Net.Sockets;
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
    /// <summary>A lease ended normally (its last ReadyForQuery is written, its flush may be under way): the server goes back to the pool.</summary>
    internal void OnLeaseEnded(ClientLease lease, bool reusable)
    {
        ReturnServer(lease.Server, reusable && lease.Mode != PoolMode.Session);
        if (_services.Stopping.IsCancellationRequested)
            _ = SayGoodbyeAsync();
        else if (_relayed && (_relayTarget is not null || _desk?.IsClosed == true))
            _ = RequestRelayReleaseAsync(); // the pool left this node: the entry node reconnects its client to the new owner
    }

    /// <summary>The node is shutting down: a client between transactions leaves now, others after theirs.</summary>
    private void OnNodeStopping()
    {
        if (Interlocked.CompareExchange(ref _loginPhase, StoppedDuringLogin, LoggingIn) == LoggingIn)
        {
            // Still logging in, and the login writes to the client: it is cut short and answers
            // there (see RunAsync); a login that has just finished calls here again.
            try
            {
                Volatile.Read(ref _login)?.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
            return;
        }
        if (_relayed && Volatile.Read(ref _waitingSince) != 0)
            return; // in line for a server: the release is asked for when that transaction ends (OnLeaseEnded)
        var lease = _lease;
        if (lease is not null)
        {
            lock (lease.Gate)
            {
                if (!lease.Released && (lease.Pending > 0 || lease.OpenBatch || lease.LastStatus != TransactionStatus.Idle))
                    return; // ClientLease ends the lease at the transaction's end (see OnReadyForQuery)
                lease.Released = true;
            }
            // Session mode between transactions: the server goes back without a reset; the pool closes it.
            if (lease.Mode == PoolMode.Session)
                DiscardServer(lease.Server);
        }
        _ = SayGoodbyeAsync();
    }

    /// <summary>Waits until the answer that ended the last lease is out, if its flush was under way at the release.</summary>
    private Task LastAnswerFlushed() => _lease?.LastAnswerFlushed() ?? Task.CompletedTask;

    private async Task SayGoodbyeAsync()
    {
        await LastAnswerFlushed();
        if (_relayed)
        {
            // A relayed client is not told: its entry node gives this relay up and reconnects it
            // to the pool's next owner; whatever it has already sent is still served here.
            await RequestRelayReleaseAsync();
            return;
        }
        try
        {
            await PipeMessages.WriteErrorAsync(Output, ErrorSeverity.Fatal, SqlState.AdminShutdown,
                "terminating connection: Pooler is shutting down", hint: "reconnect to another Pooler node");
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or OperationCanceledException)
        {
        }
        _closing.Cancel();
    }

    /// <summary>Asks the entry node of this relayed session to give the relay up (see ClientLease.OnRelayRelease).</summary>
    private async Task RequestRelayReleaseAsync()
    {
        if (Interlocked.Exchange(ref _releaseAsked, 1) != 0)
            return;
        await LastAnswerFlushed();
        try
        {
            // Called between transactions: no server connection writes to this client meanwhile.
            new ParameterStatus(Cluster.RelayHandshake.ReleaseParameter, "now").WriteTo(Output);
            await Output.FlushAsync();
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or OperationCanceledException)
        {
            _closing.Cancel();
        }
    }

    private int _releaseAsked;

    // Login phases: shutdown must not write to a client whose login is writing to it.
    private const int LoggingIn = 0, LoggedIn = 1, StoppedDuringLogin = 2;
    private int _loginPhase;
    private CancellationTokenSource? _login;

    /// <summary>
    /// Statement mode: the client opened a transaction block. Its server connection is closed (the
    /// transaction dies with it) and the client is told why, then disconnected.
    /// </summary>
    internal void OnTransactionBlockRefused(ClientLease lease)
    {
        _log.LogWarning("client {Client}: opened a transaction block in statement mode; disconnecting it", Id);
        DiscardServer(lease.Server);
        FatalAndClose(SqlState.ActiveSqlTransaction,
            $"transaction blocks are not allowed in statement pool mode (pool {_poolConfig?.Name})",
            hint: "run single statements, or use pool_mode = \"transaction\" or \"session\" for this pool");
    }

    /// <summary>
    /// Tells the client why its session ends, from outside the session's own loop (a server's
    /// reader), and closes it. The write is not awaited: the client may be gone already.
    /// </summary>
    private void FatalAndClose(string sqlState, string message, string hint)
    {
        try
        {
            ErrorResponse.Create(ErrorSeverity.Fatal, sqlState, message, hint: hint).WriteTo(Output);
            _ = Output.FlushAsync().AsTask();
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
        }
        _closing.Cancel();
    }

    /// <summary>
    /// The server connection died while lent to this client. Every request it had not answered gets
    /// an error and a ReadyForQuery, so the client can go on with a new connection.
    /// </summary>
    internal void OnServerLost(ClientLease lease, string reason, int unanswered)
    {
        var relay = lease.Server.Target.IsRelay;
        DiscardServer(lease.Server);
        if (relay && unanswered == 0 && _poolMode != PoolMode.Session)
        {
            // Between transactions: the next one is relayed to wherever the pool is then.
            _log.LogInformation("client {Client}: relay to the owner of pool {Pool} closed ({Reason}); reconnecting at its next transaction",
                Id, _poolConfig?.Name, reason);
            return;
        }
        _log.LogWarning("client {Client}: lost {Server}: {Reason}", Id, lease.Server, reason);
        if (relay && _poolMode == PoolMode.Session)
        {
            // Session mode: the session's state lived on that connection; the client must start over.
            FatalAndClose(SqlState.ConnectionFailure, $"server connection lost: {reason}; the session's state is gone",
                hint: "reconnect; Pooler will serve the new session from the pool's current node");
            return;
        }
        if (unanswered == 0)
            return;
        try
        {
            ErrorResponse.Create(ErrorSeverity.Error, SqlState.StatementCompletionUnknown,
                $"server connection lost: {reason}; the current transaction was aborted (if a COMMIT was in flight, " +
                "check whether it took effect), run it again",
                hint: "Pooler will use another server connection for the next statement").WriteTo(Output);
            for (var i = 0; i < unanswered; i++)
                ReadyForQuery.Write(Output, TransactionStatus.Idle);
            _ = Output.FlushAsync().AsTask();
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            // The client went away too.
        }
    }

    /// <summary>
    /// The client is gone (Terminate, hang-up, error). Its server connection goes back to the pool
    /// only when its state is known to be clean; otherwise the pool closes it.
    /// </summary>
    private async Task EndSessionAsync()
    {
        if (_requestId != 0 && _desk is not null && _checkoutReply is not null)
        {
            // A wait still in line is dropped; a connection handed over meanwhile is refused and goes to the next in line.
            _checkoutReply.Abandon();
            _desk.Leave(_checkoutReply, Interlocked.Read(ref _requestId));
        }
        var lease = _lease;
        _lease = null;
        if (lease is null)
            return;
        if (lease.Server.Target.IsRelay)
        {
            // The owner's session resets and returns its own server connection when the relay closes.
            lock (lease.Gate)
                lease.Released = true;
            await lease.Server.DisposeAsync();
            return;
        }
        if (_pool is null)
            return;
        bool reusable;
        lock (lease.Gate)
        {
            if (lease.Released)
                return; // already on its way back to the pool
            lease.Released = true;
            reusable = lease.Pending == 0 && !lease.OpenBatch && lease.LastStatus == TransactionStatus.Idle;
        }
        if (reusable && lease.Mode == PoolMode.Session)
            reusable = await ResetAsync(lease);
        if (!reusable)
            _log.LogInformation("client {Client} left with {Server} busy or in a transaction: closing that server connection",
                Id, lease.Server);
        ReturnServer(lease.Server, reusable);
    }

    /// <summary>Session mode: server_reset_query before another client gets the connection.</summary>
    private async Task<bool> ResetAsync(ClientLease lease)
    {
        var reset = General.ServerResetQuery;
        if (string.IsNullOrWhiteSpace(reset))
            return true;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await lease.Server.RunInternalAsync(reset, timeout.Token);
            if (StatementCommand.Read(reset).Kind == StatementCommandKind.DropAll)
                lease.Server.Statements.Clear();
            lease.Server.AppliedSettings.Clear();
            lease.Server.MarkSettings(null);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.LogWarning("client {Client}: server_reset_query on {Server} failed: {Error}", Id, lease.Server, e.Message);
            return false;
        }
    }

    /// <summary>A CancelRequest arrived on a new connection: pass it to the server running that client's query.</summary>
    private async Task ForwardCancelAsync(CancelRequest request)
    {
        if (request.SecretKeyInt32 is not { } secret)
            return;
        var target = _services.CancelKeys.Find(request.ProcessId, secret);
        if (target is null)
        {
            if (NodeTag.OfProcessId(request.ProcessId) != _services.Node.Tag)
            {
                // Another node gave out this key: pass the request on.
                _services.CancelRouter.Tell(new CancelRouter.Route(request.ProcessId, secret));
                return;
            }
            _log.LogInformation("cancel request for unknown or mismatched key (pid {Pid}) ignored", request.ProcessId);
            return;
        }
        await target.CancelRunningQueryAsync();
    }

    /// <summary>Cancels what this session's server is running, only while it runs this session's work.</summary>
    internal async Task CancelRunningQueryAsync()
    {
        var lease = _lease;
        if (lease is null || !lease.IsBusy || lease.Server.KeyData is not { } key)
            return;
        var target = lease.Server.Target;
        // A relay's key belongs to the client's session on the pool's owner node, which takes
        // cancel requests on its client port like any Pooler node.
        var (host, port) = target.Relay is { } relay ? (relay.CancelHost, relay.CancelPort) : (target.Host, target.Port);
        _log.LogInformation("client {Client}: cancelling its query on {Server}", Id, lease.Server);
        try
        {
            await PostgresCancel.SendAsync(host, port, key, TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            _log.LogWarning("client {Client}: cancel to {Server} failed: {Error}", Id, lease.Server, e.Message);
        }
    }
}
