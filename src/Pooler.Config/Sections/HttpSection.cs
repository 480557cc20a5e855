using Pooler.Config.Toml;

namespace Pooler.Config.Sections;

/// <summary>
/// Reads <c>[http]</c>. Without it, PgCat's <c>enable_prometheus_exporter</c> and
/// <c>prometheus_exporter_port</c> decide, serving on <c>general.host</c> as PgCat does.
/// </summary>
internal static class HttpSection
{
    /// <returns>The settings, and the listener for the conflict check (null when HTTP is off).</returns>
    public static (HttpConfig Http, Listener? Listener) Read(TableReader? r, TableReader general, PgCatExporter exporter, GeneralConfig generalConfig)
    {
        if (r is null)
            return exporter.IsSet ? FromPgCat(general, exporter, generalConfig) : Default(general);

        var http = new HttpConfig
        {
            Host = r.String("host", Defaults.Http.Host),
            Port = r.Port("port", Defaults.Http.Port, zeroAllowed: true),
        };
        if (!Validation.IsHostName(http.Host))
            throw r.Error("host", $"must be a host name or IP address to listen on, got \"{http.Host}\"");

        const string superseded = "superseded by the [http] section";
        general.Ignore("enable_prometheus_exporter", superseded);
        general.Ignore("prometheus_exporter_port", superseded);
        r.RejectUnknownKeys();
        return (http, http.Enabled ? Listener.From(r, "port", http.Host, http.Port) : null);
    }

    private static (HttpConfig, Listener?) Default(TableReader general)
    {
        var http = new HttpConfig();
        return (http, new Listener("http.port", http.Host, http.Port, general.Line, Explicit: false));
    }

    private static (HttpConfig, Listener?) FromPgCat(TableReader general, PgCatExporter exporter, GeneralConfig generalConfig)
    {
        if (exporter.IsEnabled == false)
            return (new HttpConfig { Host = generalConfig.Host, Port = 0 }, null);
        var http = new HttpConfig { Host = generalConfig.Host, Port = exporter.Port ?? Defaults.Http.Port };
        return (http, Listener.From(general, "prometheus_exporter_port", http.Host, http.Port));
    }
}
