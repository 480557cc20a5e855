using Pooler.Protocol;

namespace Pooler.Core.Admin;

/// <summary>What running one command gave: rows (in its columns' order), a notice to send first, or an error.</summary>
internal sealed record CommandResult(IReadOnlyList<object?[]> Rows, NoticeResponse? Notice = null, ConsoleError? Error = null)
{
    public static CommandResult Done { get; } = new([]);

    public static CommandResult Failed(ConsoleError error) => new([], Error: error);
}

/// <summary>Runs parsed console commands against the backend; knows nothing of the wire.</summary>
internal sealed class CommandRunner(IAdminBackend backend)
{
    // PgBouncer's layout: each command on its own tab-indented line of the notice's detail.
    private static readonly string Help = "\n\t" + string.Join("\n\t",
        "SHOW HELP|CONFIG|USERS|DATABASES|POOLS|CLIENTS|SERVERS|VERSION",
        "SHOW LISTS|STATS|STATS_TOTALS|STATS_AVERAGES",
        "SHOW NODES|POOL_PLACEMENT|BANS",
        "SHOW CLUSTER POOLS|STATS|STATS_TOTALS|STATS_AVERAGES|CLIENTS|SERVERS|BANS",
        "PAUSE [<db>]",
        "RESUME [<db>]",
        "RECONNECT [<db>]",
        "DISABLE <db>",
        "ENABLE <db>",
        "KILL <db>",
        "RELOAD [CLUSTER]",
        "SHUTDOWN");

    public async Task<CommandResult> RunAsync(ConsoleCommand command, CancellationToken cancellationToken)
    {
        try
        {
            return command switch
            {
                ShowCommand show => new CommandResult(await RowsAsync(show, cancellationToken)),
                ShowHelpCommand => new CommandResult([], HelpNotice()),
                BackendCommand run => await RunOnBackendAsync(run, cancellationToken),
                InvalidCommand invalid => CommandResult.Failed(invalid.Error),
                _ => CommandResult.Done, // SET, empty
            };
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A stats query that times out (a node slow to answer) should cost the admin one
            // command, not the console.
            return CommandResult.Failed(new ConsoleError(SqlState.InternalError, $"{command.Tag} failed: {e.Message}"));
        }
    }

    private async Task<IReadOnlyList<object?[]>> RowsAsync(ShowCommand show, CancellationToken cancellationToken)
    {
        if (show.ClusterWide)
        {
            var cluster = await backend.ClusterAsync(show.Table is ShowTable.Clients or ShowTable.Servers, cancellationToken);
            var rows = new List<object?[]>();
            foreach (var node in cluster.Nodes)
            {
                foreach (var row in AdminTables.NodeRows(show.Table, node))
                    rows.Add([node.Node, .. row]);
            }
            return rows;
        }
        return show.Table switch
        {
            ShowTable.Databases => AdminTables.Databases(backend.Config, await backend.LocalAsync(cancellationToken)),
            ShowTable.Users => AdminTables.Users(backend.Config),
            ShowTable.Config => AdminTables.Config(backend.Config.General),
            ShowTable.Lists => AdminTables.Lists(backend.Config, await backend.LocalAsync(cancellationToken)),
            ShowTable.Version => AdminTables.Version(backend.Version),
            ShowTable.Nodes => AdminTables.Nodes(await backend.ClusterAsync(connections: false, cancellationToken)),
            ShowTable.PoolPlacement => AdminTables.Placement(await backend.ClusterAsync(connections: false, cancellationToken)),
            _ => AdminTables.NodeRows(show.Table, await backend.LocalAsync(cancellationToken)),
        };
    }

    private async Task<CommandResult> RunOnBackendAsync(BackendCommand run, CancellationToken cancellationToken)
    {
        // Checked when run, not when parsed: a RELOAD between a Parse and its Execute may add or drop pools.
        if (run.Database is { } database && backend.Config.FindPool(database) is null)
            return CommandResult.Failed(new ConsoleError(SqlState.InvalidCatalogName, $"no such database: {database}"));
        var result = await backend.RunAsync(run.Command, run.Database, cancellationToken);
        if (result.Ok)
            return CommandResult.Done;
        return CommandResult.Failed(new ConsoleError(
            result.SqlState ?? SqlState.InternalError, result.Message ?? $"{run.Tag} failed"));
    }

    // PgBouncer answers SHOW HELP with one notice whose detail lists the commands.
    private static NoticeResponse HelpNotice() => new()
    {
        Severity = ErrorSeverity.Notice,
        SeverityNonLocalized = ErrorSeverity.Notice,
        SqlState = SqlState.SuccessfulCompletion,
        Message = "Console usage",
        Detail = Help,
    };
}
