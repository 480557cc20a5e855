using System.Buffers;
using System.IO.Pipelines;
using Akka.Actor;
using Pooler.Core.Pools;
using Microsoft.Extensions.Logging;
using Pooler.Config;
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
        bool loggedIn;
        try
        {
            var startup = await ReadStartupAsync(login.Token);
            if (startup is null)
                return;
            loggedIn = await LoginAsync(startup, login.Token);
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
        if (loggedIn)
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

        var poolRef = await _services.PoolRegion.Ask<PoolRef>(
            new PoolEnvelope(_poolConfig.Name, new GetPoolRef()), TimeSpan.FromSeconds(30), cancellationToken);
        _pool = poolRef.Supervisor;
        _desk = poolRef.Desks.GetValueOrDefault(_userName);
        var reply = await RequestAsync(_pool, _ => new GetServerParameters(_userName)).WaitAsync(cancellationToken);
        if (reply is CheckoutFailed failed)
            return await FailLoginAsync(failed.SqlState, failed.Message);

        var parameters = ((CurrentServerParameters)reply).Parameters;
        WriteLoginReply(parameters);
        await Output.FlushAsync(cancellationToken);
        if (General.LogClientConnections)
            _log.LogInformation("client {Client} from {Remote}: login as {User} to {Database} ({Mode} mode)",
                Id, _client.RemoteEndPoint, _userName, _poolConfig.Name, _poolMode.ToConfigName());
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
