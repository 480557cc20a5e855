using System.Net.Sockets;
using System.Reflection;
using Pooler.Config;

namespace Pooler.Host;

/// <summary>
/// The process: read the command line, load and validate the configuration, check that the ports
/// are free, then run the host until it is stopped. Every way of failing to start ends in one
/// line on stderr and exit code 1, so that operators and init systems see the reason at once.
/// </summary>
public static class PoolerProgram
{
    public const int ExitOk = 0;
    public const int ExitCannotStart = 1;
    public const int ExitUsage = 2;

    public static string Version { get; } =
        typeof(PoolerProgram).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            .Split('+')[0] ?? "0.0.0";

    public static async Task<int> RunAsync(string[] args)
    {
        CommandLine commandLine;
        try
        {
            commandLine = CommandLine.Parse(args);
        }
        catch (CommandLineException e)
        {
            Console.Error.WriteLine($"pooler: {e.Message} (see pooler --help)");
            return ExitUsage;
        }
        if (commandLine.ShowHelp)
        {
            Console.Out.WriteLine(CommandLine.Usage);
            return ExitOk;
        }
        if (commandLine.ShowVersion)
        {
            Console.Out.WriteLine($"pooler {Version}");
            return ExitOk;
        }

        PoolerConfig config;
        try
        {
            config = ConfigLoader.LoadFile(commandLine.ConfigPath!);
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"pooler: {e.Message}");
            return ExitCannotStart;
        }

        if (commandLine.CheckOnly)
        {
            foreach (var line in ServingSummary.Describe(config, commandLine.ConfigPath!))
                Console.Out.WriteLine(line);
            Console.Out.WriteLine("configuration is valid");
            return ExitOk;
        }

        if (PortCheck.FindPortInUse(config) is { } busy)
        {
            Console.Error.WriteLine($"pooler: {busy}");
            return ExitCannotStart;
        }

        try
        {
            using var host = PoolerHost.Build(config, commandLine.ConfigPath!);
            await host.RunAsync();
            return ExitOk;
        }
        catch (Exception e) when (PortCheck.IsAddressInUse(e, out var message))
        {
            Console.Error.WriteLine($"pooler: {message}");
            return ExitCannotStart;
        }
        catch (Exception e) when (e is IOException or SocketException or InvalidOperationException)
        {
            Console.Error.WriteLine($"pooler: could not start: {e.Message}");
            return ExitCannotStart;
        }
    }
}
