namespace Pooler.Config;

/// <summary><c>[http]</c>: the dashboard and the Prometheus <c>/metrics</c> endpoint.</summary>
public sealed record HttpConfig
{
    public string Host { get; init; } = Defaults.Http.Host;

    /// <summary>Zero turns the HTTP listener off.</summary>
    public int Port { get; init; } = Defaults.Http.Port;

    public bool Enabled => Port != 0;
}
