using Pooler.Config;
using Pooler.Core.Stats;

namespace Pooler.Core.Admin;

/// <summary>The admin console's commands that change something (PgBouncer's names).</summary>
public enum AdminCommand
{
    /// <summary>Wait until every server connection of the pool(s) is back, then lend none until RESUME.</summary>
    Pause,
    Resume,
    /// <summary>Close each server connection of the pool(s) once it is back (new ones are opened as needed).</summary>
    Reconnect,
    /// <summary>Drop every client and server connection of the pool at once (database required).</summary>
    Kill,
    /// <summary>Refuse new clients of the pool (database required); connected ones go on.</summary>
    Disable,
    Enable,
    /// <summary>Re-read the config file and apply it on this node.</summary>
    Reload,
    /// <summary>Re-read the config file and apply it on every node of the cluster.</summary>
    ReloadCluster,
    /// <summary>Stop this node (as SIGTERM does).</summary>
    Shutdown,
}

/// <summary>What an admin command did: OK, or the error to show the admin (SQLSTATE and message).</summary>
public sealed record AdminResult(bool Ok, string? SqlState = null, string? Message = null) : Cluster.IClusterMessage
{
    public static AdminResult Done { get; } = new(true);
    public static AdminResult Error(string sqlState, string message) => new(false, sqlState, message);
}

/// <summary>What the admin console (<see cref="AdminConsole"/>) reads and acts on.</summary>
public interface IAdminBackend : IStatsSource
{
    /// <summary>The configuration being served now (SHOW CONFIG, SHOW DATABASES, SHOW USERS, SHOW LISTS).</summary>
    PoolerConfig Config { get; }

    /// <summary>Pooler's version, e.g. "0.1.0".</summary>
    string Version { get; }

    /// <summary>Runs a command for one pool (<paramref name="database"/>) or, where allowed, all (null).</summary>
    Task<AdminResult> RunAsync(AdminCommand command, string? database, CancellationToken cancellationToken);
}
