namespace Pooler.Config;

/// <summary>
/// <c>[pools.&lt;name&gt;.users.&lt;n&gt;]</c>: a user that may connect to the pool, and the
/// server connections kept for it. Settings a user may override are already resolved (the
/// user's value, else the pool's, else <c>[general]</c>'s).
/// </summary>
public sealed record UserConfig
{
    public required string Username { get; init; }

    /// <summary>As written in the file: the password, or a PostgreSQL MD5/SCRAM secret.</summary>
    public required string Password { get; init; }
    public PasswordKind PasswordKind { get; init; }

    /// <summary>How this user's clients authenticate.</summary>
    public AuthType AuthType { get; init; } = Defaults.General.AuthType;

    /// <summary>The PostgreSQL role Pooler logs in as: server_username, else username.</summary>
    public required string ServerUsername { get; init; }

    /// <summary>The password Pooler logs in with: server_password, else password.</summary>
    public required string ServerPassword { get; init; }
    public PasswordKind ServerPasswordKind { get; init; }

    /// <summary>Most server connections for this user, cluster-wide.</summary>
    public required int PoolSize { get; init; }
    public int MinPoolSize { get; init; } = Defaults.User.MinPoolSize;
    public TimeSpan StatementTimeout { get; init; } = Defaults.User.StatementTimeout;

    public PoolMode PoolMode { get; init; } = Defaults.Pool.PoolMode;
    public TimeSpan ConnectTimeout { get; init; } = Defaults.General.ConnectTimeout;
    public TimeSpan IdleTimeout { get; init; } = Defaults.General.IdleTimeout;
    public TimeSpan ServerLifetime { get; init; } = Defaults.General.ServerLifetime;

    // Keep secrets out of logs: records print every property by default.
    public override string ToString() =>
        $"UserConfig {{ Username = {Username}, PoolSize = {PoolSize}, PoolMode = {PoolMode.ToConfigName()} }}";
}
