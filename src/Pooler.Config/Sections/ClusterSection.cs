using System.Globalization;
using Pooler.Config.Toml;

namespace Pooler.Config.Sections;

/// <summary>Reads <c>[cluster]</c>; an absent section gives a one-node cluster on 127.0.0.1.</summary>
internal static class ClusterSection
{
    public static ClusterConfig Read(TableReader r)
    {
        var systemName = r.String("system_name", Defaults.Cluster.SystemName);
        if (!Validation.IsActorSystemName(systemName))
            throw r.Error("system_name", $"must be letters and digits (then also '-' and '_'), got \"{systemName}\"");

        var host = r.String("host", Defaults.Cluster.Host);
        if (!Validation.IsHostName(host))
            throw r.Error("host", $"must be a host name or IP address to listen on, got \"{host}\"");
        var port = r.Port("port", Defaults.Cluster.Port);
        var relayPort = r.Port("relay_port", Defaults.Cluster.RelayPort);

        // Other nodes cannot dial 0.0.0.0; the machine's name is the best guess at an address they can.
        var publicHostname = r.OptionalString("public_hostname") ?? (Validation.IsWildcard(host) ? Environment.MachineName : host);
        if (!Validation.IsHostName(publicHostname) || Validation.IsWildcard(publicHostname))
            throw r.Error("public_hostname", $"must be a host name or address other nodes can reach, got \"{publicHostname}\"");

        var self = Address(systemName, publicHostname, port);
        var seedNodes = ReadSeedNodes(r, systemName) ?? [self];
        var secret = ReadSecret(r, seedNodes, self);

        var cluster = new ClusterConfig
        {
            NodeName = r.OptionalString("node_name") ?? $"{publicHostname}:{port}",
            Host = host,
            Port = port,
            PublicHostname = publicHostname,
            SeedNodes = seedNodes,
            Roles = (r.OptionalStringArray("roles") ?? []).Select(role => role.Text).ToList(),
            RelayPort = relayPort,
            MaxRelayedConnections = r.Int("max_relayed_connections", Defaults.Cluster.MaxRelayedConnections, 1),
            Secret = secret,
            SystemName = systemName,
        };
        r.RejectUnknownKeys();
        return cluster;
    }

    private static string Address(string systemName, string host, int port) => ClusterConfig.Address(systemName, host, port);

    /// <summary>Seeds as "host:port" or full Akka addresses, normalized to Akka addresses.</summary>
    private static List<string>? ReadSeedNodes(TableReader r, string systemName)
    {
        var entries = r.OptionalStringArray("seed_nodes");
        if (entries is null || entries.Count == 0)
            return null;
        var seeds = new List<string>();
        foreach (var (text, line, path) in entries)
        {
            var seed = ParseSeed(text, systemName, out var problem)
                ?? throw r.Context.Error(line, path, problem);
            if (!seeds.Contains(seed, StringComparer.OrdinalIgnoreCase))
                seeds.Add(seed);
        }
        return seeds;
    }

    private static string? ParseSeed(string text, string systemName, out string problem)
    {
        const string shape = "must be \"host:port\" or \"akka.tcp://<system_name>@host:port\"";
        var hostAndPort = text;
        if (text.Contains("://", StringComparison.Ordinal))
        {
            var prefix = $"akka.tcp://{systemName}@";
            if (!text.StartsWith(prefix, StringComparison.Ordinal))
            {
                problem = text.StartsWith("akka.tcp://", StringComparison.Ordinal)
                    ? $"names another actor system; every node's system_name is \"{systemName}\", so use {prefix}host:port"
                    : $"{shape}, got \"{text}\"";
                return null;
            }
            hostAndPort = text[prefix.Length..].TrimEnd('/');
        }

        var colon = hostAndPort.LastIndexOf(':');
        var host = colon > 0 ? hostAndPort[..colon] : "";
        if (colon <= 0 || !Validation.IsHostName(host) ||
            !int.TryParse(hostAndPort.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) ||
            port is < 1 or > 65535)
        {
            problem = $"{shape}, got \"{text}\"";
            return null;
        }
        problem = "";
        return Address(systemName, host.Trim('[', ']'), port);
    }

    // Relayed connections arrive already authenticated; the secret is what proves the sender is a
    // node. A lone node relays nothing, so it may go without one.
    private static string? ReadSecret(TableReader r, List<string> seedNodes, string self)
    {
        var secret = r.OptionalString("secret", secret: true);
        if (secret is not null && secret.Length < Defaults.Cluster.MinimumSecretLength)
            throw r.Error("secret", $"must be at least {Defaults.Cluster.MinimumSecretLength} characters, got {secret.Length}");
        var joinsOthers = seedNodes.Any(seed => !string.Equals(seed, self, StringComparison.OrdinalIgnoreCase));
        if (secret is null && joinsOthers)
            throw r.Missing("secret",
                $"seed_nodes names other nodes, so set the same secret = \"<at least {Defaults.Cluster.MinimumSecretLength} characters>\" on every node");
        return secret;
    }
}
