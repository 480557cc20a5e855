using Pooler.Config.Toml;

namespace Pooler.Config.Sections;

/// <summary>One TCP listener the configuration asks for, and where (if anywhere) the file chose its port.</summary>
internal sealed record Listener(string Key, string Host, int Port, int Line, bool Explicit)
{
    /// <summary>The listener whose port is set by <paramref name="key"/> in <paramref name="reader"/>'s table.</summary>
    public static Listener From(TableReader reader, string key, string host, int port) =>
        reader.Table.Get(key) is { } node
            ? new Listener(node.Path, host, port, node.Line, Explicit: true)
            : new Listener(reader.KeyPath(key), host, port, reader.Line, Explicit: false);
}

/// <summary>
/// Two listeners on one port would fail at bind time with a less helpful message, so the loader
/// checks every pair up front and blames the port the file chose (not a default).
/// </summary>
internal static class Listeners
{
    public static void Check(ReadContext context, IReadOnlyList<Listener> listeners)
    {
        for (var i = 0; i < listeners.Count; i++)
        {
            for (var j = i + 1; j < listeners.Count; j++)
            {
                var (a, b) = (listeners[i], listeners[j]);
                if (a.Port == 0 || a.Port != b.Port || !Validation.HostsOverlap(a.Host, b.Host))
                    continue;
                var (blamed, other) = Blame(a, b);
                var otherText = other.Explicit ? other.Key : $"{other.Key} (its default)";
                throw context.Error(blamed.Line, blamed.Key,
                    $"port {blamed.Port} is also {otherText}; every listener needs its own port");
            }
        }
    }

    // The key the operator wrote is the one to change; between two written keys, the later one.
    private static (Listener Blamed, Listener Other) Blame(Listener a, Listener b) =>
        (a.Explicit, b.Explicit) switch
        {
            (true, false) => (a, b),
            (false, true) => (b, a),
            _ => a.Line > b.Line ? (a, b) : (b, a),
        };
}
