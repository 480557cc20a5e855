using System.IO.Pipelines;
using Akka.Actor;
using System.Buffers;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Pooler.Config;
using Pooler.Core.Servers;
using Pooler.Core.Wire;
using Pooler.Protocol;
using static Pooler.Core.Pools.PoolProtocol;

namespace Pooler.Core.Clients;

public sealed partial class ClientSession
{
    private enum ChunkOutcome { Forwarded, LeaseEnded, Terminate, Violation, TooLarge, NeedMore }

    private long _clientRemaining; // bytes of a client message still to pass through
    private CancellationTokenSource? _idleInTransaction;
    private string? _settingsKey; // cached SettingsKey; null after the settings change
    private ServerConnection? _lastRelay; // the relay this session used last (its ParameterStatus view)
    private SocketReader? _reader; // the client's reader, for WarmForLending

    /// <summary>
    /// The client's side of the byte pump: passes the client's bytes to the server connection it
    /// holds, asking the pool for one whenever a new unit of work (transaction, statement) starts.
    /// </summary>
    private async Task ForwardAsync()
    {
        var max = General.MaxMessageSize;
        // The reader itself, not Input: that is three objects away (connection, transport, reader),
        // and at a thousand clients each of them is a cache miss on every read.
        var input = Input;
        _reader = input as SocketReader;
        if (_reader is not null)
            _reader.Owner = this;
        if (General.IdleClientInTransactionTimeout > TimeSpan.Zero)
            _idleInTransaction = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        while (true)
        {
            ReadResult read;
            try
            {
                read = await input.ReadAsync(_idleInTransaction?.Token ?? _closing.Token);
                _idleInTransaction?.CancelAfter(Timeout.InfiniteTimeSpan);
            }
            catch (OperationCanceledException)
            {
                if (!_closing.IsCancellationRequested)
                    await IdleInTransactionTimeoutAsync();
                return;
            }
            var buffer = read.Buffer;
            var consumed = buffer.Start;
            var outcome = ChunkOutcome.Forwarded;
            ClientLease? wroteTo = null;
            string? violation = null;
            while (true)
            {
                var rest = buffer.Slice(consumed);
                if (rest.IsEmpty)
                    break;
                var lease = _lease;
                if (lease is null || IsEnded(lease))
                {
                    // The last lease's server may still be flushing its ReadyForQuery to the client
                    // (a client that pipelines sends on before it has that answer): nothing else may
                    // write to the client until it has — not an answer from here, not the next server.
                    if (lease is not null && lease.ClientOutputFreed() is { IsCompleted: false } freed)
                        await freed.WaitAsync(_closing.Token);
                    // A new unit of work: ask for a server only once a whole header is here.
                    var next = NextMessage(rest, max, out var first, out violation);
                    if (next != ChunkOutcome.Forwarded)
                    {
                        if (next != ChunkOutcome.NeedMore)
                            outcome = next;
                        break;
                    }
                    if (_relayTarget is null)
                    {
                        // SET SERVER ROLE, SET SHARD ...: answered here, between transactions.
                        var (answered, needMore, length) = MayBeRoutingCommand(rest, first)
                            ? await TryAnswerRoutingCommandAsync(rest, first)
                            : default;
                        if (answered)
                        {
                            consumed = rest.GetPosition(length);
                            continue;
                        }
                        if (needMore)
                            break;
                        if (_routes is { Only: null })
                        {
                            // Several servers: the transaction's first message decides where it goes.
                            if (NeedsWholeFirstMessage(first, rest.Length))
                                break;
                            _nextRoute = ChooseRoute(rest, first);
                        }
                    }
                    var checkout = CheckoutAsync(out var inLine);
                    if (inLine is { } wait)
                    {
                        // In line for a server: the desk's answer resumes this loop directly, and
                        // the rest of the checkout then completes without another await.
                        object? reply = null;
                        ValueTask<object> answered;
                        try
                        {
                            reply = await wait.Answer;
                            answered = new(reply);
                        }
                        catch (Exception e) when (e is not OutOfMemoryException)
                        {
                            answered = ValueTask.FromException<object>(e);
                        }
                        checkout = LendAnswered(wait.Started, reply as ServerConnection, answered);
                    }
                    lease = await checkout;
                    if (lease is null)
                        return;
                }
                outcome = ForwardChunk(lease, rest, max, out consumed, out var wrote, out violation);
                if (wrote)
                    wroteTo = lease;
                if (outcome != ChunkOutcome.LeaseEnded)
                    break;
            }
            input.AdvanceTo(consumed, buffer.End);
            if (wroteTo is not null)
            {
                Exception? failed = null;
                try
                {
                    // Awaited here, not in a helper: when the server's socket is full the flush waits
                    // for room, and one suspended method is cheaper to resume than two.
                    var flush = wroteTo.Server.Output.FlushAsync(_closing.Token);
                    if (!flush.IsCompletedSuccessfully)
                        await flush;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    failed = e;
                }
                if (failed is null)
                    wroteTo.EndFlush();
                else if (!ServerWriteFailed(wroteTo, failed))
                    return;
            }
            if (outcome == ChunkOutcome.Violation)
            {
                await ProtocolViolationAsync(violation!);
                return;
            }
            if (outcome == ChunkOutcome.TooLarge)
            {
                DropLease();
                await PipeMessages.WriteErrorAsync(Output, ErrorSeverity.Fatal, SqlState.ProgramLimitExceeded, violation!,
                    hint: "use a shorter statement, an unnamed statement, or pool_mode = \"session\" for this pool");
                return;
            }
            if (outcome == ChunkOutcome.Terminate || read.IsCompleted)
            {
                (input as SocketReader)?.ReleaseBuffer(); // between reads: none is waiting
                return;
            }
        }
    }

    /// <summary>
    /// Called when the server reports the client's transaction open and nothing else pending: the
    /// client now has idle_client_in_transaction_timeout to send its next message.
    /// </summary>
    internal void ArmIdleInTransactionTimer()
    {
        try
        {
            _idleInTransaction?.CancelAfter(General.IdleClientInTransactionTimeout);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>The client held a transaction open and silent too long: its server is closed (rolling it back).</summary>
    private async Task IdleInTransactionTimeoutAsync()
    {
        var limit = General.IdleClientInTransactionTimeout;
        _log.LogInformation("client {Client}: idle in transaction for {Limit} ms; disconnecting it", Id, limit.TotalMilliseconds);
        DropLease();
        await PipeMessages.WriteErrorAsync(Output, ErrorSeverity.Fatal, SqlState.IdleInTransactionSessionTimeout,
            $"terminating connection: idle in transaction for longer than idle_client_in_transaction_timeout " +
            $"({limit.TotalMilliseconds:0} ms); the transaction was rolled back");
    }

    private static bool IsEnded(ClientLease lease)
    {
        lock (lease.Gate)
            return lease.Released;
    }

    /// <summary>
    /// Writes as many whole or partial client messages as <paramref name="input"/> holds to the
    /// lease's server, counting the requests that will each end in a ReadyForQuery.
    /// </summary>
    private ChunkOutcome ForwardChunk(ClientLease lease, in ReadOnlySequence<byte> input, int max,
        out SequencePosition consumed, out bool wrote, out string? violation)
    {
        violation = null;
        wrote = false;
        var outcome = ChunkOutcome.Forwarded;
        lock (lease.Gate)
        {
            if (lease.Released)
            {
                consumed = input.Start;
                return ChunkOutcome.LeaseEnded;
            }
            var rest = input;
            var run = input.Start; // where the bytes passed on unchanged (not yet written) begin
            var tracker = lease.Statements;
            long sent = 0;
            while (!rest.IsEmpty)
            {
                if (_clientRemaining > 0)
                {
                    var take = Math.Min(_clientRemaining, rest.Length);
                    _clientRemaining -= take;
                    rest = rest.Slice(take);
                    continue;
                }
                var next = NextMessage(rest, max, out var header, out violation);
                if (next != ChunkOutcome.Forwarded)
                {
                    if (next != ChunkOutcome.NeedMore)
                        outcome = next;
                    break;
                }
                if (tracker is not null && MayNameStatement(header.Type) && !PassesAsItIs(lease, tracker, rest, header))
                {
                    // What comes before goes first; then the message, as the server must see it.
                    sent += WriteRun(lease, input.Slice(run, rest.Start));
                    run = rest.Start;
                    var rewrite = RewriteStatementMessage(lease, tracker, rest, header, out var taken);
                    if (rewrite == Rewrite.NeedMore)
                    {
                        // A Bind needs only its two names, which lead the message; others are held whole.
                        if (header.Type == FrontendMessageType.Bind ? rest.Length >= HeldMessageLimit : header.FrameLength > HeldMessageLimit)
                        {
                            violation = $"a {(char)header.Type} message of {header.FrameLength} bytes naming a prepared statement " +
                                        $"is longer than transaction pooling can hold ({HeldMessageLimit} bytes)";
                            outcome = ChunkOutcome.TooLarge;
                        }
                        break;
                    }
                    if (rewrite == Rewrite.Rewritten)
                    {
                        CountRequest(lease, header.Type);
                        sent += taken;
                        _clientRemaining = header.FrameLength - taken;
                        rest = rest.Slice(taken);
                        run = rest.Start;
                        continue;
                    }
                }
                CountRequest(lease, header.Type);
                var available = Math.Min(header.FrameLength, rest.Length);
                _clientRemaining = header.FrameLength - available;
                rest = rest.Slice(available);
            }
            sent += WriteRun(lease, input.Slice(run, rest.Start));
            if (sent > 0)
            {
                lease.NoteRequest(sent);
                lease.Flushing = true;
                wrote = true;
            }
            consumed = rest.Start;
        }
        return outcome;
    }

    /// <summary>The longest message naming a prepared statement that is gathered whole (the client pipe holds 1 MiB).</summary>
    private const int HeldMessageLimit = 512 * 1024;

    private static long WriteRun(ClientLease lease, in ReadOnlySequence<byte> run)
    {
        foreach (var segment in run)
            lease.Server.Output.Write(segment.Span);
        return run.Length;
    }

    /// <summary>
    /// Reads the next client message header: <see cref="ChunkOutcome.Forwarded"/> for a message to
    /// pass on, <see cref="ChunkOutcome.Terminate"/>, <see cref="ChunkOutcome.Violation"/> (with the
    /// reason), or <see cref="ChunkOutcome.NeedMore"/> when the header has not fully arrived.
    /// </summary>
    private static ChunkOutcome NextMessage(in ReadOnlySequence<byte> rest, int max, out FrameHeader header, out string? violation)
    {
        violation = null;
        var status = FrameScanner.TryReadHeader(rest, max, out header);
        if (status == FrameStatus.Incomplete)
            return ChunkOutcome.NeedMore;
        if (status != FrameStatus.Complete)
        {
            violation = FrameScanner.Describe(status, header, max, "max_message_size");
            return ChunkOutcome.Violation;
        }
        return header.Type == FrontendMessageType.Terminate ? ChunkOutcome.Terminate : ChunkOutcome.Forwarded;
    }

    /// <summary>Which client messages will be answered with a ReadyForQuery (protocol §55.2).</summary>
    private static void CountRequest(ClientLease lease, byte type)
    {
        switch (type)
        {
            case FrontendMessageType.Query:
            case FrontendMessageType.FunctionCall:
                lease.Pending++;
                break;
            case FrontendMessageType.Sync:
                lease.Pending++;
                lease.OpenBatch = false;
                break;
            case FrontendMessageType.Parse:
            case FrontendMessageType.Bind:
            case FrontendMessageType.Describe:
            case FrontendMessageType.Execute:
            case FrontendMessageType.Close:
            case FrontendMessageType.Flush:
                lease.OpenBatch = true;
                break;
        }
    }

    private bool ServerWriteFailed(ClientLease lease, Exception e)
    {
        // The server side noticed (or will notice) the broken socket and tells the client.
        _log.LogDebug("client {Client}: write to {Server} failed: {Error}", Id, lease.Server, e.Message);
        lease.EndFlush();
        return !_closing.IsCancellationRequested;
    }

    /// <summary>
    /// Gets a server connection from the pool and prepares it with this client's settings. The
    /// common case, an idle connection that was used lately and has the client's settings already,
    /// completes here without an await; waiting in line, a health check, settings to apply and
    /// relays take the long way.
    /// </summary>
    private ValueTask<ClientLease?> CheckoutAsync() => CheckoutAsync(out _, waitHere: false);

    /// <param name="inLine">
    /// Set instead of a checkout to await when the session joined the line: the caller awaits the
    /// desk's answer and passes it to <see cref="CheckoutSlowAsync"/>.
    /// </param>
    private ValueTask<ClientLease?> CheckoutAsync(out (long Started, ValueTask<object> Answer)? inLine, bool waitHere = true)
    {
        inLine = null;
        var started = EventLoop.Timestamp();
        _requestAt = started;
        Volatile.Write(ref _waitingSince, started);
        if (_relayTarget is not null)
            return CheckoutSlowAsync(started, null, default);
        var (taken, answer) = AskDesk();
        if (taken is null && waitHere && !answer.IsCompleted)
        {
            inLine = (started, answer);
            return default;
        }
        if (taken is null || TryLendAsIs(taken) is not { } lease)
            return CheckoutSlowAsync(started, taken, answer);
        Volatile.Write(ref _waitingSince, 0); // it did not wait: no wait time to count
        return new(lease);
    }

    /// <summary>
    /// The desk's answer to a session that waited in line: a connection ready for the client as it
    /// is (the usual answer) is lent here, without an async call; anything else goes the long way.
    /// </summary>
    private ValueTask<ClientLease?> LendAnswered(long started, ServerConnection? assigned, ValueTask<object> answered)
    {
        if (assigned is not null && TryLendAsIs(assigned) is { } lease)
        {
            EndWait(started);
            return new(lease);
        }
        return CheckoutSlowAsync(started, assigned, answered);
    }

    /// <summary>
    /// The rest of a checkout that did not complete at once: <paramref name="taken"/> is the
    /// connection the desk gave (to be health-checked or given settings), else <paramref name="answer"/>
    /// is the desk's reply to wait for. A connection that fails its health check is dropped and
    /// another one asked for.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ClientLease?> CheckoutSlowAsync(long started, ServerConnection? taken, ValueTask<object> answer)
    {
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                if (_relayTarget is not null)
                    return await RelayCheckoutAsync();
                if (attempt > 1)
                    (taken, answer) = AskDesk();
                if (taken is null)
                {
                    object reply;
                    try
                    {
                        reply = await answer;
                    }
                    catch (OperationCanceledException)
                    {
                        return null;
                    }
                    if (reply is not ServerConnection assigned)
                    {
                        if (await RefusedAsync((CheckoutFailed)reply))
                            continue;
                        return null;
                    }
                    taken = assigned;
                }
                if (TryLendAsIs(taken) is { } lease)
                    return lease;
                var outcome = await PrepareAsync(taken, lastAttempt: attempt == 3);
                if (!outcome.Retry)
                    return outcome.Lease;
            }
        }
        finally
        {
            EndWait(started);
        }
    }

    /// <summary>
    /// This session is near the front of the desk's line (its own object is in the cache by now):
    /// what lending a connection to it touches is fetched, the objects it refers to at
    /// <paramref name="place"/> 1, and what those refer to at 0.
    /// </summary>
    internal void WarmForLending(int place)
    {
        var lease = _lease;
        var reader = _reader;
        if (place == 1)
        {
            Prefetch.Object(lease, lines: 3);
            Prefetch.Object(_settingsKey);
            Prefetch.Object(reader, lines: 3);
            return;
        }
        Prefetch.Object(lease?.Statements);
        reader?.Warm();
    }

    private void EndWait(long started)
    {
        Volatile.Write(ref _waitingSince, 0);
        _counters?.AddWait(EventLoop.Timestamp() - started);
    }

    /// <summary>
    /// Asks the pool's desk for a connection: an idle one is <c>Taken</c> at once; otherwise the
    /// session joins the line and <c>Answer</c> is the desk's reply to wait for (already there when
    /// the pool cannot serve this client at all).
    /// </summary>
    private (ServerConnection? Taken, ValueTask<object> Answer) AskDesk()
    {
        if (_desk is null)
            return (null, new(new CheckoutFailed(SqlState.InvalidAuthorizationSpecification,
                $"user \"{_userName}\" has no pool in database \"{_poolConfig!.Name}\"", 0)));
        if (RouteForCheckout() is not { } route)
            return (null, new(new CheckoutFailed(SqlState.ConnectionFailure, _routeProblem ?? $"pool {_poolConfig!.Name} has no server to take this", 0)));
        _desk = route.Desk;
        var requestId = Interlocked.Increment(ref _requestId);
        var answer = _checkoutReply!.Expect(requestId);
        if (_desk.TryTakeOrQueue(_checkoutReply, requestId, out var idle, out var tellSupervisor))
        {
            _checkoutReply.Withdraw(requestId);
            return (idle, default);
        }
        if (tellSupervisor)
            _pool!.Tell(new ServerWanted(route.Key));
        return (null, answer);
    }

    /// <summary>
    /// The desk could not give this session a connection: true to ask again (the pool moved, or
    /// another server can take the transaction); false when the client has been told why not.
    /// </summary>
    private async ValueTask<bool> RefusedAsync(CheckoutFailed refused)
    {
        if (refused.SqlState == Pools.PoolSupervisor.PoolMovedState)
        {
            // The pool left this node: find where it lives now and go there.
            _log.LogInformation("client {Client}: pool {Pool} moved; looking it up again", Id, _poolConfig!.Name);
            return await ResolvePoolAsync(_closing.Token);
        }
        if (refused.SqlState != SqlState.TooManyConnections && _nextRoute is { } tried &&
            _routes is { Only: null } && tried.Health.IsBanned(DateTime.UtcNow))
        {
            // That server is banned now: another of the same shard and role takes the transaction, if there is one.
            if (ChooseAgain(DateTime.UtcNow))
                return true;
            refused = refused with { Message = _routeProblem ?? refused.Message };
        }
        _log.LogWarning("client {Client} ({User}@{Pool}): no server connection: {Reason}", Id, _userName,
            _poolConfig!.Name, refused.Message);
        await PipeMessages.WriteErrorAsync(Output, ErrorSeverity.Fatal, refused.SqlState, refused.Message);
        return false;
    }

    /// <summary>
    /// The pool lives on another node: this client's "server" is a relay connection to that node,
    /// held for the whole session and re-established whenever it is lost between transactions (the
    /// owner left, failed, or the pool moved) — the client only notices a transaction that was
    /// running when its owner failed.
    /// </summary>
    private async Task<ClientLease?> RelayCheckoutAsync()
    {
        var deadline = DateTime.UtcNow + PoolLookupLimit;
        while (true)
        {
            var target = _relayTarget!;
            try
            {
                target = target with { Relay = target.Relay! with { Settings = RelaySettings() } };
                // An entry node holds its relay for the session; a relayed session passing one
                // transaction on (its pool moved) gives it up at the transaction's end.
                ClientLease? lease = null;
                var relay = await ServerConnection.ConnectAsync(target, _closing.Token, lend: server =>
                    lease = new ClientLease(this, server, Output, _relayed ? PoolMode.Transaction : PoolMode.Session) { Counters = _counters });
                _lastRelay = relay;
                _lease = lease;
                return lease;
            }
            catch (ServerLoginException e) when (e.SqlState == SqlState.TooManyConnections)
            {
                // The owner serves max_relayed_connections already: waiting would not help.
                _log.LogWarning("client {Client}: the owner of pool {Pool} refused the relay: {Error}", Id, _poolConfig!.Name, e.Message);
                await PipeMessages.WriteErrorAsync(Output, ErrorSeverity.Fatal, SqlState.TooManyConnections, e.Message,
                    hint: "raise max_relayed_connections on the pool's node, or connect to that node directly");
                return null;
            }
            catch (ServerLoginException e) when (!_closing.IsCancellationRequested)
            {
                if (DateTime.UtcNow > deadline)
                {
                    _log.LogWarning("client {Client}: cannot reach the owner of pool {Pool}: {Error}", Id, _poolConfig!.Name, e.Message);
                    await PipeMessages.WriteErrorAsync(Output, ErrorSeverity.Fatal, SqlState.ConnectionFailure,
                        $"the node that owns pool {_poolConfig.Name} cannot be reached: {e.Message}",
                        hint: "the pool is moving or its node failed; reconnect in a moment");
                    return null;
                }
                _log.LogDebug("client {Client}: relay to {Target} failed ({Error}); looking the pool up again", Id, target, e.Message);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
            await Task.Delay(PoolLookupRetry, _closing.Token);
            if (!await ResolvePoolAsync(_closing.Token))
                return null;
            if (_relayTarget is null)
                return await CheckoutAsync(); // the pool is on this node now
        }
    }

    /// <summary>The client's settings for a new relay: its own, updated with what it SET through the last one.</summary>
    private Dictionary<string, string> RelaySettings()
    {
        var settings = new Dictionary<string, string>(_desiredSettings, StringComparer.OrdinalIgnoreCase);
        if (_lastRelay is { } last)
            foreach (var name in TrackedSettings)
                if (last.Parameters.TryGetValue(name, out var value))
                    settings[name] = value;
        return settings;
    }

    /// <summary>
    /// <see cref="PrepareAsync"/>'s common case, without an await: the connection is open, was used
    /// within healthcheck_delay and has the client's settings already. Null when it needs more.
    /// </summary>
    private ClientLease? TryLendAsIs(ServerConnection server)
    {
        ApplyFinalSettings(_lease);
        return server.IsClosed || HealthCheckDue(server) || !server.HasSettings(SettingsKey) ? null : Lend(server);
    }

    /// <summary>Health-checks a connection this session just got and gives it the client's settings.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(ClientLease? Lease, bool Retry)> PrepareAsync(ServerConnection server, bool lastAttempt)
    {
        if (!lastAttempt && !await HealthyAsync(server))
            return (null, true);
        try
        {
            ApplyFinalSettings(_lease);
            if (!server.HasSettings(SettingsKey))
            {
                if (SettingsToApply(server) is { } sql)
                {
                    await server.RunInternalAsync(sql, _closing.Token);
                    AdoptServerSpelling(server);
                }
                server.MarkSettings(SettingsKey);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            DiscardServer(server);
            _log.LogWarning("client {Client}: could not apply its settings on {Server}: {Error}", Id, server, e.Message);
            await PipeMessages.WriteErrorAsync(Output, ErrorSeverity.Fatal, SqlState.ConnectionFailure,
                $"could not prepare a server connection: {e.Message}");
            return (null, false);
        }
        return (Lend(server), false);
    }

    /// <summary>
    /// The session's lease of a connection that is ready for its client: the last lease's object
    /// renewed when that lending is over for both loops, else a new one.
    /// </summary>
    private ClientLease Lend(ServerConnection server)
    {
        var lease = _lease;
        StatementTracker? lastStatements = null;
        if (lease is not null && lease.TryRenew(server, _poolMode))
            lastStatements = lease.Statements;
        else
            lease = new ClientLease(this, server, Output, _poolMode);
        lease.Counters = _counters;
        lease.Statements = StatementsOn(server, lastStatements);
        lease.MarkSettings();
        server.Attach(lease);
        _lease = lease;
        return lease;
    }

    /// <summary>The connection has been idle longer than healthcheck_delay.</summary>
    private bool HealthCheckDue(ServerConnection server) =>
        General.HealthcheckDelay > TimeSpan.Zero && server.IdleFor >= General.HealthcheckDelay;

    /// <summary>
    /// A connection idle longer than healthcheck_delay may have died quietly (server restart,
    /// firewall): an empty query proves it before the client's bytes go to it.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> HealthyAsync(ServerConnection server)
    {
        if (server.IsClosed)
        {
            DiscardServer(server);
            return false;
        }
        if (!HealthCheckDue(server))
            return true;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
            timeout.CancelAfter(General.HealthcheckTimeout > TimeSpan.Zero ? General.HealthcheckTimeout : TimeSpan.FromSeconds(5));
            await server.RunInternalAsync(";", timeout.Token);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.LogWarning("client {Client}: {Server} failed its health check ({Error}); closing it", Id, server, e.Message);
            DiscardServer(server);
            BanChosen($"health check failed: {e.Message}");
            ChooseAgain(DateTime.UtcNow);
            return false;
        }
    }

    /// <summary>
    /// Takes over the settings the previous server ended with, so that a client's SET of a reported
    /// parameter (and the server's spelling of what we set) follows it to the next connection.
    /// </summary>
    private void ApplyFinalSettings(ClientLease? previous)
    {
        if (previous?.FinalSettings is not { } final)
            return;
        foreach (var (name, value) in final)
            _desiredSettings[name] = value;
        _settingsKey = null;
    }

    /// <summary>
    /// This session's settings as one string, to recognize a server that already has them. Equal
    /// keys are one string (<see cref="SharedKeys"/>): comparing a session's key with the one a
    /// server was last given, on every checkout, is then a comparison of references, not of text.
    /// </summary>
    private string SettingsKey => _settingsKey ??= SharedKeys.Share(string.Join('\0',
        _desiredSettings.OrderBy(s => s.Key, StringComparer.OrdinalIgnoreCase).Select(s => $"{s.Key.ToLowerInvariant()}={s.Value}")));

    /// <summary>
    /// One string per distinct settings key, for the first <see cref="Limit"/> keys seen (clients
    /// that each set a different application_name must not grow it without end); keys past that
    /// are compared by their text, as before.
    /// </summary>
    private static class SharedKeys
    {
        private const int Limit = 1024;
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> s_keys = new();

        public static string Share(string key) =>
            s_keys.TryGetValue(key, out var shared) ? shared : s_keys.Count < Limit ? s_keys.GetOrAdd(key, key) : key;
    }

    /// <summary>
    /// The statements that give this server the client's settings, or null when it has them: a
    /// set_config for each setting that differs, a RESET for each one another client had us set.
    /// </summary>
    private string? SettingsToApply(ServerConnection server)
    {
        List<string>? statements = null;
        foreach (var (name, value) in _desiredSettings)
        {
            // Reported parameters (ParameterStatus) are known exactly; search_path is not reported,
            // so we remember what we set ourselves.
            var known = server.Parameters.TryGetValue(name, out var current) ||
                        server.AppliedSettings.TryGetValue(name, out current);
            if (known && current == value)
                continue;
            // set_config takes the value as a raw string, exactly as a startup parameter is taken
            // (SET would read 'a,b' as one quoted search_path element).
            (statements ??= []).Add($"SELECT pg_catalog.set_config({QuoteLiteral(name)}, {QuoteLiteral(value)}, false)");
            server.AppliedSettings[name] = value;
        }
        if (server.AppliedSettings.Count > 0)
        {
            foreach (var name in server.AppliedSettings.Keys.ToArray())
            {
                if (_desiredSettings.ContainsKey(name))
                    continue;
                (statements ??= []).Add($"RESET \"{name.Replace("\"", "\"\"")}\"");
                server.AppliedSettings.Remove(name);
            }
        }
        return statements is null ? null : string.Join("; ", statements);
    }

    /// <summary>After a SET, adopt the server's own spelling (DateStyle 'ISO' reads back as 'ISO, MDY').</summary>
    private void AdoptServerSpelling(ServerConnection server)
    {
        foreach (var name in _desiredSettings.Keys.ToArray())
            if (server.Parameters.TryGetValue(name, out var reported))
                _desiredSettings[name] = reported;
        _settingsKey = null;
    }

    private static string QuoteLiteral(string value) => "'" + value.Replace("'", "''") + "'";

    /// <summary>
    /// Ends this client's lease on the spot and has its server closed — unless the lease had already
    /// ended, in which case the server is back in the pool and may belong to another client now.
    /// </summary>
    private void DropLease()
    {
        if (_lease is not { } lease)
            return;
        _lease = null;
        lock (lease.Gate)
        {
            if (lease.Released)
                return;
            lease.Released = true;
        }
        DiscardServer(lease.Server);
    }

    private async Task ProtocolViolationAsync(string reason)
    {
        _log.LogWarning("client {Client} from {Remote}: protocol violation: {Reason}", Id, _client.RemoteEndPoint, reason);
        // The server may have half a message from this client: it cannot be lent again.
        DropLease();
        await PipeMessages.WriteErrorAsync(Output, ErrorSeverity.Fatal, SqlState.ProtocolViolation, reason);
    }
}
