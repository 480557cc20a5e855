using System.Runtime.InteropServices;
using Akka.Hosting;
using Pooler.Config;
using Pooler.Core;
using Pooler.Core.Admin;
using Pooler.Core.Pools;
using Pooler.Protocol;

namespace Pooler.Host.Admin;

/// <summary>
/// RELOAD and SIGHUP: reads the config file again and, if it is valid, serves it: new logins see
/// new pools, users and passwords at once, each pool on this node applies its new settings
/// (<see cref="PoolProtocol.UpdatePool"/>), and no connected client is dropped. A bad file is
/// refused with the same message as at start, and the running config stays. Listener ports and
/// cluster settings are read at start only.
/// </summary>
public sealed class ConfigReloader(ConfigSource source, IServiceProvider provider, ILogger<ConfigReloader> log) : IHostedService
{
    // Resolved when first needed: the services exist only once the actor system runs, after hosted services start.
    private PoolerServices Services => provider.GetRequiredService<PoolerServices>();

    private PosixSignalRegistration? _sighup;

    public AdminResult Reload()
    {
        PoolerConfig fresh;
        try
        {
            fresh = ConfigLoader.LoadFile(source.Path);
        }
        catch (ConfigException e)
        {
            log.LogError("reload refused, the running configuration stays: {Error}", e.Message);
            return AdminResult.Error(SqlState.InvalidParameterValue, $"reload refused, the running configuration stays: {e.Message}");
        }
        var services = Services;
        var old = services.Config;
        services.Config = fresh;
        foreach (var pool in fresh.Pools)
            if (services.Node.FindLocal(pool.Name) is { } local)
                local.Supervisor.Tell(new PoolProtocol.UpdatePool(pool, fresh.General), Akka.Actor.ActorRefs.NoSender);
        var added = fresh.Pools.Select(p => p.Name).Except(old.Pools.Select(p => p.Name)).ToList();
        var removed = old.Pools.Select(p => p.Name).Except(fresh.Pools.Select(p => p.Name)).ToList();
        log.LogInformation("configuration reloaded from {Path}: {Count} pool(s){Added}{Removed}", source.Path, fresh.Pools.Count,
            added.Count > 0 ? $"; new: {string.Join(", ", added)}" : "",
            removed.Count > 0 ? $"; removed (connected clients stay until they leave): {string.Join(", ", removed)}" : "");
        return AdminResult.Done;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsWindows())
            _sighup = RegisterSighup(context =>
            {
                context.Cancel = true; // SIGHUP reloads; it does not stop the process
                log.LogInformation("SIGHUP: reloading the configuration");
                Reload();
            });
        return Task.CompletedTask;
    }

    /// <summary>
    /// Started with SIGHUP ignored (<c>nohup pooler …</c>), the process would keep ignoring it: .NET
    /// leaves an inherited SIG_IGN alone. A pooler's SIGHUP means "reload", so the default disposition
    /// is restored first and the handler takes it.
    /// </summary>
    private static PosixSignalRegistration RegisterSighup(Action<PosixSignalContext> handler)
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                const int sighup = 1;
                SetSignalDisposition(sighup, 0 /* SIG_DFL */);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                // No libc to ask: keep what the runtime does.
            }
        }
        return PosixSignalRegistration.Create(PosixSignal.SIGHUP, handler);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "signal")]
    private static extern nint SetSignalDisposition(int signal, nint handler);

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _sighup?.Dispose();
        return Task.CompletedTask;
    }
}
