namespace Pooler.Core.Clients;

/// <summary>How a client's login ended.</summary>
public enum ClientAuthOutcome
{
    /// <summary>AuthenticationOk was sent and flushed: send ParameterStatus, BackendKeyData and ReadyForQuery next.</summary>
    Authenticated,

    /// <summary>A FATAL ErrorResponse was sent and flushed: close the connection.</summary>
    Failed,

    /// <summary>The client closed the connection first (psql does this to prompt for a password); nothing was sent.</summary>
    Disconnected,
}

/// <param name="Reason">
/// Why the login failed or ended, for the pooler's log. It may say more than the client was told
/// (that the user is unknown, that the stored secret cannot serve the method) but never holds a password.
/// Null when authenticated.
/// </param>
public readonly record struct ClientAuthResult(ClientAuthOutcome Outcome, string? Reason)
{
    public static ClientAuthResult Authenticated { get; } = new(ClientAuthOutcome.Authenticated, null);

    public static ClientAuthResult Failed(string reason) => new(ClientAuthOutcome.Failed, reason);

    public static ClientAuthResult Disconnected(string reason) => new(ClientAuthOutcome.Disconnected, reason);
}
