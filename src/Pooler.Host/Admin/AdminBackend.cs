using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Pooler.Config;
using Pooler.Core;
using Pooler.Core.Admin;
using Pooler.Core.Pools;
using Pooler.Core.Stats;
using Pooler.Protocol;
using static Pooler.Core.Pools.PoolProtocol;

namespace Pooler.Host.Admin;

/// <summary>
/// What the admin console, /metrics and the dashboard read and do, on this node: its report built
/// from the sessions, the counters and the supervisors of the pools it owns; the cluster's view
/// gathered from every member's <see cref="NodeAdmin"/>; and the commands, sent to the pool (PAUSE,
/// RESUME, RECONNECT, KILL — wherever the pool lives) or to every node (DISABLE, ENABLE, KILL's
/// clients, RELOAD CLUSTER).
/// </summary>
public sealed class AdminBackend(PoolerServices services, ActorSystem system, IRequiredActor<PoolRegion> region,
    IHostApplicationLifetime lifetime, ConfigReloader reloader, ILogger<AdminBackend> log) : IAdminBackend
{
    private static readonly TimeSpan ReportTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan PauseTimeout = TimeSpan.FromMinutes(10);

    public PoolerConfig Config => services.Config;

    public string Version => typeof(AdminBackend).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public async Task<NodeSnapshot> LocalAsync(CancellationToken cancellationToken)
    {
        var config = services.Config;
        // One look at each session, so its state, wait and counts agree within this report.
        var sessions = services.Sessions.Select(s => (Session: s, Info: s.Describe())).ToList();
        var pools = new List<PoolSnapshot>();
        var servers = new List<ServerInfo>();
        var bans = new List<BanInfo>();
        foreach (var pool in config.Pools)
        {
            var report = await ReportOfAsync(pool.Name, cancellationToken);
            if (report is not null)
                bans.AddRange(report.Bans);
            foreach (var user in pool.Users)
            {
                var mine = sessions.Where(s => s.Session.PoolName == pool.Name && s.Session.UserName == user.Username).ToList();
                var waiting = mine.Count(s => s.Info.State == "waiting");
                var server = report?.Users.FirstOrDefault(u => u.User == user.Username);
                if (server is not null)
                    servers.AddRange(server.Servers);
                var maxWait = Math.Max(server?.MaxWaitUs ?? 0, mine.Select(s => s.Info.WaitUs).DefaultIfEmpty(0).Max());
                pools.Add(new PoolSnapshot(pool.Name, user.Username, user.PoolMode.ToConfigName(), report is not null,
                    user.PoolSize, user.MinPoolSize, 0,
                    mine.Count - waiting, waiting,
                    server?.Active ?? 0, server?.Idle ?? 0, server?.Used ?? 0, server?.Login ?? 0,
                    maxWait, report?.Paused ?? false, services.IsDisabled(pool.Name),
                    services.Stats.TotalsOf(pool.Name, user.Username), services.Stats.AveragesOf(pool.Name, user.Username)));
            }
        }
        var http = config.Http.Enabled ? $"{config.Http.Host}:{config.Http.Port}" : null;
        return new NodeSnapshot(services.Node.SelfAddress, $"{services.Node.ClientHost}:{services.Node.ClientPort}", http,
            DateTime.UtcNow, services.Stats.StartedAt, pools, [.. sessions.Select(s => s.Info)], servers,
            services.ClientCount, services.RelayedCount, config.Cluster.MaxRelayedConnections, bans);
    }

    private async Task<PoolReport?> ReportOfAsync(string pool, CancellationToken cancellationToken)
    {
        if (services.Node.FindLocal(pool) is not { } local)
            return null;
        try
        {
            return await local.Supervisor.Ask<PoolReport>(GetPoolReport.Instance, ReportTimeout, cancellationToken);
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }

    public static NodeSnapshot WithoutConnections(NodeSnapshot snapshot) => snapshot with { Clients = [], Servers = [] };

    public async Task<ClusterSnapshot> ClusterAsync(bool connections, CancellationToken cancellationToken)
    {
        var cluster = Cluster.Get(system);
        var state = cluster.State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        var placement = await Task.WhenAll(services.Config.Pools.Select(async pool =>
            new PoolPlacement(pool.Name, (await LocateAsync(pool.Name, cancellationToken))?.OwnerAddress)));
        var members = state.Members.ToList();
        var reports = await Task.WhenAll(members.Select(async member =>
        {
            if (member.Address == cluster.SelfAddress)
            {
                var local = await LocalAsync(cancellationToken);
                return connections ? local : WithoutConnections(local);
            }
            if (unreachable.Contains(member.Address) || member.Status is not (MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Leaving))
                return null;
            try
            {
                return (await NodeAdminOf(member.Address).Ask<NodeReport>(new GetNodeSnapshot(connections), ReportTimeout, cancellationToken)).Snapshot;
            }
            catch (Exception e) when (e is AskTimeoutException or ActorNotFoundException)
            {
                return null;
            }
        }));
        var memberInfos = members.Select((member, i) =>
        {
            var address = member.Address.ToString();
            return new MemberInfo(address, member.Status.ToString(), [.. member.Roles],
                !unreachable.Contains(member.Address), state.Leader == member.Address, reports[i]?.StartedAt,
                [.. placement.Where(p => p.Owner == address).Select(p => p.Pool)]);
        }).ToList();
        return new ClusterSnapshot(DateTime.UtcNow, cluster.SelfAddress.ToString(), state.Leader?.ToString(), memberInfos,
            placement, [.. reports.Where(r => r is not null).Select(r => r!)]);
    }

    private Task<PoolLocation?> LocateAsync(string pool, CancellationToken cancellationToken) =>
        PoolRegion.LocateAsync(region.ActorRef, pool, ReportTimeout, cancellationToken);

    private ICanTell NodeAdminOf(Address address) =>
        system.ActorSelection(new RootActorPath(address) / "user" / NodeAdmin.Name);

    public async Task<AdminResult> RunAsync(AdminCommand command, string? database, CancellationToken cancellationToken)
    {
        if (database is not null && services.Config.FindPool(database) is null)
            return AdminResult.Error(SqlState.InvalidCatalogName, $"no such database: {database}");
        if (database is null && command is AdminCommand.Kill or AdminCommand.Disable or AdminCommand.Enable)
            return AdminResult.Error(SqlState.SyntaxError, $"{command.ToString().ToUpperInvariant()} needs a database name");
        log.LogInformation("admin console: {Command}{Database}", command.ToString().ToUpperInvariant(),
            database is null ? "" : $" {database}");
        switch (command)
        {
            case AdminCommand.Pause:
            case AdminCommand.Resume:
            case AdminCommand.Reconnect:
                foreach (var pool in database is null ? services.Config.Pools.Select(p => p.Name) : [database])
                {
                    var result = await ToPoolAsync(pool, command, cancellationToken);
                    if (!result.Ok)
                        return result;
                }
                return AdminResult.Done;
            case AdminCommand.Kill:
                var killed = await ToPoolAsync(database!, command, cancellationToken);
                return killed.Ok ? await ToEveryNodeAsync(new NodeCommand(command, database), cancellationToken) : killed;
            case AdminCommand.Disable:
            case AdminCommand.Enable:
                return await ToEveryNodeAsync(new NodeCommand(command, database), cancellationToken);
            case AdminCommand.Reload:
                return RunHere(new NodeCommand(command, null));
            case AdminCommand.ReloadCluster:
                return await ToEveryNodeAsync(new NodeCommand(AdminCommand.Reload, null), cancellationToken);
            case AdminCommand.Shutdown:
                lifetime.StopApplication();
                return AdminResult.Done;
            default:
                return AdminResult.Error(SqlState.FeatureNotSupported, $"unknown admin command {command}");
        }
    }

    private async Task<AdminResult> ToPoolAsync(string pool, AdminCommand command, CancellationToken cancellationToken)
    {
        try
        {
            return await region.ActorRef.Ask<AdminResult>(new PoolEnvelope(pool, new AdminPool(command)),
                command == AdminCommand.Pause ? PauseTimeout : TimeSpan.FromSeconds(10), cancellationToken);
        }
        catch (AskTimeoutException)
        {
            return AdminResult.Error(SqlState.ConnectionFailure, $"pool {pool} did not answer {command.ToString().ToUpperInvariant()} in time");
        }
    }

    /// <summary>Runs a node command on every member that is up; the first failure is the answer.</summary>
    private async Task<AdminResult> ToEveryNodeAsync(NodeCommand command, CancellationToken cancellationToken)
    {
        var cluster = Cluster.Get(system);
        var results = await Task.WhenAll(cluster.State.Members
            .Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp)
            .Select(async member =>
            {
                if (member.Address == cluster.SelfAddress)
                    return RunHere(command);
                try
                {
                    return await NodeAdminOf(member.Address).Ask<AdminResult>(command, TimeSpan.FromSeconds(10), cancellationToken);
                }
                catch (AskTimeoutException)
                {
                    return AdminResult.Error(SqlState.ConnectionFailure, $"node {member.Address} did not answer in time");
                }
            }));
        return results.FirstOrDefault(r => !r.Ok) ?? AdminResult.Done;
    }

    /// <summary>A node command on this node.</summary>
    public AdminResult RunHere(NodeCommand command)
    {
        switch (command.Command)
        {
            case AdminCommand.Kill:
                foreach (var session in services.Sessions.Where(s => s.PoolName == command.Database))
                    session.Kill($"database \"{command.Database}\" was killed by an administrator (KILL)");
                return AdminResult.Done;
            case AdminCommand.Disable:
                services.SetDisabled(command.Database!, true);
                return AdminResult.Done;
            case AdminCommand.Enable:
                services.SetDisabled(command.Database!, false);
                return AdminResult.Done;
            case AdminCommand.Reload:
                return reloader.Reload();
            default:
                return AdminResult.Error(SqlState.FeatureNotSupported, $"{command.Command} is not a node command");
        }
    }
}
