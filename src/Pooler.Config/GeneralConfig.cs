namespace Pooler.Config;

/// <summary>
/// <c>[general]</c>: the client listener, the admin console, timeouts and limits that apply to
/// every pool unless a pool or user overrides them. Durations are <see cref="TimeSpan"/>s; a
/// zero timeout means "off".
/// </summary>
public sealed record GeneralConfig
{
    public string Host { get; init; } = Defaults.General.Host;
    public int Port { get; init; } = Defaults.General.Port;

    /// <summary>Admin console user; the console is off unless both it and the password are set.</summary>
    public string? AdminUsername { get; init; }
    public string? AdminPassword { get; init; }
    public AuthType AdminAuthType { get; init; } = Defaults.General.AuthType;
    public bool AdminConsoleEnabled => AdminUsername is not null && AdminPassword is not null;

    /// <summary>How clients authenticate unless a user sets its own auth_type.</summary>
    public AuthType AuthType { get; init; } = Defaults.General.AuthType;

    public TimeSpan ConnectTimeout { get; init; } = Defaults.General.ConnectTimeout;
    public TimeSpan IdleTimeout { get; init; } = Defaults.General.IdleTimeout;
    public TimeSpan ServerLifetime { get; init; } = Defaults.General.ServerLifetime;
    public TimeSpan IdleClientInTransactionTimeout { get; init; } = Defaults.General.IdleClientInTransactionTimeout;
    public TimeSpan HealthcheckTimeout { get; init; } = Defaults.General.HealthcheckTimeout;
    public TimeSpan HealthcheckDelay { get; init; } = Defaults.General.HealthcheckDelay;
    public TimeSpan BanTime { get; init; } = Defaults.General.BanTime;
    public TimeSpan ShutdownTimeout { get; init; } = Defaults.General.ShutdownTimeout;
    public TimeSpan QueryWaitTimeout { get; init; } = Defaults.General.QueryWaitTimeout;
    public TimeSpan ClientLoginTimeout { get; init; } = Defaults.General.ClientLoginTimeout;

    /// <summary>Client connections one node accepts (key <c>max_client_conn</c>).</summary>
    public int MaxClientConnections { get; init; } = Defaults.General.MaxClientConnections;

    /// <summary>Run on a server connection before another client gets it; empty means none.</summary>
    public string ServerResetQuery { get; init; } = Defaults.General.ServerResetQuery;

    public bool LogClientConnections { get; init; } = Defaults.General.LogClientConnections;
    public bool LogClientDisconnections { get; init; } = Defaults.General.LogClientDisconnections;

    /// <summary>Zero leaves the operating system's setting.</summary>
    public TimeSpan TcpKeepalivesIdle { get; init; } = Defaults.General.TcpKeepalivesIdle;
    public int TcpKeepalivesCount { get; init; } = Defaults.General.TcpKeepalivesCount;
    public TimeSpan TcpKeepalivesInterval { get; init; } = Defaults.General.TcpKeepalivesInterval;
    public TimeSpan TcpUserTimeout { get; init; } = Defaults.General.TcpUserTimeout;

    /// <summary>PEM files for TLS with clients; both or neither are set.</summary>
    public string? TlsCertificate { get; init; }
    public string? TlsPrivateKey { get; init; }
    public bool ClientTlsEnabled => TlsCertificate is not null;

    public bool ServerTls { get; init; } = Defaults.General.ServerTls;
    public bool VerifyServerCertificate { get; init; } = Defaults.General.VerifyServerCertificate;

    /// <summary>Track named prepared statements so they survive transaction pooling.</summary>
    public bool PreparedStatements { get; init; } = Defaults.General.PreparedStatements;
    public int PreparedStatementsCacheSize { get; init; } = Defaults.General.PreparedStatementsCacheSize;

    /// <summary>Largest frontend message accepted, in bytes; a bigger one ends that client's connection.</summary>
    public int MaxMessageSize { get; init; } = Defaults.General.MaxMessageSize;

    public bool DnsCacheEnabled { get; init; } = Defaults.General.DnsCacheEnabled;
    public TimeSpan DnsMaxTtl { get; init; } = Defaults.General.DnsMaxTtl;
}
