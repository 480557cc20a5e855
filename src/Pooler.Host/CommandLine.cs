namespace Pooler.Host;

/// <summary>What the command line asked for: <c>pooler --config FILE [--check] | --help | --version</c>.</summary>
public sealed record CommandLine(string? ConfigPath, bool CheckOnly, bool ShowHelp, bool ShowVersion)
{
    public const string Usage = """
        Usage: pooler --config FILE [--check]
               pooler --help | --version

        Pooler is a clustered PostgreSQL connection pooler. It reads a PgCat-shaped TOML file,
        serves every pool in it on [general] host:port and joins the Akka.NET cluster described
        in [cluster].

        Options:
          -c, --config FILE   the TOML configuration to serve (required)
              --check         validate the configuration, print what would be served, and exit
          -h, --help          show this help and exit
          -V, --version       show the version and exit

        Exit codes: 0 clean shutdown, 1 could not start (bad config, port in use), 2 bad command line.
        """;

    /// <summary>Parses the arguments; a mistake throws <see cref="CommandLineException"/>.</summary>
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        string? config = null;
        bool check = false, help = false, version = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            switch (arg)
            {
                case "-h" or "--help":
                    help = true;
                    break;
                case "-V" or "--version":
                    version = true;
                    break;
                case "--check":
                    check = true;
                    break;
                case "-c" or "--config":
                    if (i + 1 >= args.Count)
                        throw new CommandLineException($"{arg} needs a file name");
                    config = args[++i];
                    break;
                default:
                    if (arg.StartsWith("--config=", StringComparison.Ordinal))
                        config = arg["--config=".Length..];
                    else
                        throw new CommandLineException($"unknown argument '{arg}'");
                    break;
            }
        }
        if (!help && !version && string.IsNullOrEmpty(config))
            throw new CommandLineException("--config FILE is required");
        return new CommandLine(config, check, help, version);
    }
}

/// <summary>The command line could not be understood; the message says which argument.</summary>
public sealed class CommandLineException(string message) : Exception(message);
