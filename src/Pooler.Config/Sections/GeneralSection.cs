using Pooler.Config.Toml;

namespace Pooler.Config.Sections;

/// <summary>PgCat's Prometheus keys in [general]; [http] takes them over when it is absent.</summary>
internal sealed record PgCatExporter(TomlNode? Enabled, bool? IsEnabled, TomlNode? PortNode, int? Port)
{
    public bool IsSet => Enabled is not null || PortNode is not null;
}

/// <summary>Reads <c>[general]</c>.</summary>
internal static class GeneralSection
{
    private const string NotUsed = "accepted for PgCat compatibility; Pooler does not use it";

    public static GeneralConfig Read(TableReader r, out PgCatExporter exporter)
    {
        var host = r.String("host", Defaults.General.Host);
        if (!Validation.IsHostName(host))
            throw r.Error("host", $"must be a host name or IP address to listen on, got \"{host}\"");

        var (adminUsername, adminPassword) = ReadAdmin(r);
        var authType = r.Choice("auth_type", Defaults.General.AuthType, ConfigNames.AuthTypes);
        var (tlsCertificate, tlsPrivateKey) = ReadTls(r);
        var preparedStatements = r.Boolean("prepared_statements", Defaults.General.PreparedStatements);

        var general = new GeneralConfig
        {
            Host = host,
            Port = r.Port("port", Defaults.General.Port),
            AdminUsername = adminUsername,
            AdminPassword = adminPassword,
            AdminAuthType = r.Choice("admin_auth_type", authType, ConfigNames.AuthTypes),
            AuthType = authType,
            ConnectTimeout = r.Milliseconds("connect_timeout", Defaults.General.ConnectTimeout),
            IdleTimeout = r.Milliseconds("idle_timeout", Defaults.General.IdleTimeout),
            ServerLifetime = r.Milliseconds("server_lifetime", Defaults.General.ServerLifetime),
            IdleClientInTransactionTimeout = r.Milliseconds("idle_client_in_transaction_timeout", Defaults.General.IdleClientInTransactionTimeout),
            HealthcheckTimeout = r.Milliseconds("healthcheck_timeout", Defaults.General.HealthcheckTimeout),
            HealthcheckDelay = r.Milliseconds("healthcheck_delay", Defaults.General.HealthcheckDelay),
            BanTime = r.Seconds("ban_time", Defaults.General.BanTime),
            ShutdownTimeout = r.Milliseconds("shutdown_timeout", Defaults.General.ShutdownTimeout),
            QueryWaitTimeout = r.Milliseconds("query_wait_timeout", Defaults.General.QueryWaitTimeout),
            ClientLoginTimeout = r.Milliseconds("client_login_timeout", Defaults.General.ClientLoginTimeout),
            MaxClientConnections = r.Int("max_client_conn", Defaults.General.MaxClientConnections, 1),
            ServerResetQuery = r.String("server_reset_query", Defaults.General.ServerResetQuery, allowEmpty: true),
            LogClientConnections = r.Boolean("log_client_connections", Defaults.General.LogClientConnections),
            LogClientDisconnections = r.Boolean("log_client_disconnections", Defaults.General.LogClientDisconnections),
            TcpKeepalivesIdle = r.Seconds("tcp_keepalives_idle", Defaults.General.TcpKeepalivesIdle),
            TcpKeepalivesCount = r.Int("tcp_keepalives_count", Defaults.General.TcpKeepalivesCount, 0),
            TcpKeepalivesInterval = r.Seconds("tcp_keepalives_interval", Defaults.General.TcpKeepalivesInterval),
            TcpUserTimeout = r.Milliseconds("tcp_user_timeout", Defaults.General.TcpUserTimeout),
            TlsCertificate = tlsCertificate,
            TlsPrivateKey = tlsPrivateKey,
            ServerTls = r.Boolean("server_tls", Defaults.General.ServerTls),
            VerifyServerCertificate = r.Boolean("verify_server_certificate", Defaults.General.VerifyServerCertificate),
            PreparedStatements = preparedStatements,
            PreparedStatementsCacheSize = r.Int("prepared_statements_cache_size", Defaults.General.PreparedStatementsCacheSize, 0),
            MaxMessageSize = r.Int("max_message_size", Defaults.General.MaxMessageSize, 8192, 1_073_741_823,
                "must be a size in bytes from 8192 to 1073741823 (PostgreSQL's own limit)"),
            DnsCacheEnabled = r.Boolean("dns_cache_enabled", Defaults.General.DnsCacheEnabled),
            DnsMaxTtl = r.Seconds("dns_max_ttl", Defaults.General.DnsMaxTtl),
        };

        exporter = new PgCatExporter(
            r.Node("enable_prometheus_exporter"), r.OptionalBoolean("enable_prometheus_exporter"),
            r.Node("prometheus_exporter_port"), (int?)r.OptionalInteger("prometheus_exporter_port", 1, 65535,
                "must be a port number from 1 to 65535"));

        r.Ignore("worker_threads", $"{NotUsed}: .NET sizes its own thread pool");
        r.Ignore("autoreload", $"{NotUsed}: the file is read once at start");
        r.Ignore("validate_config", $"{NotUsed}: the file is always validated");
        r.Ignore("server_round_robin", NotUsed);
        r.Ignore("auth_query", $"{NotUsed}: passwords come from the users' entries");
        r.Ignore("auth_query_user", $"{NotUsed}: passwords come from the users' entries");
        r.Ignore("auth_query_password", $"{NotUsed}: passwords come from the users' entries");
        r.RejectUnknownKeys();
        return general;
    }

    // The console is optional: with neither key it is off; one without the other is a mistake.
    private static (string?, string?) ReadAdmin(TableReader r)
    {
        var username = r.OptionalString("admin_username");
        var password = r.OptionalString("admin_password", secret: true);
        if (username is not null && password is null)
            throw r.Missing("admin_password", "admin_username is set, so set admin_password too (or remove both to turn the admin console off)");
        if (username is null && password is not null)
            throw r.Missing("admin_username", "admin_password is set, so set admin_username too (or remove both to turn the admin console off)");
        if (password is not null && !Passwords.TryClassify(password, out _, out var problem))
            throw r.Error("admin_password", problem);
        return (username, password);
    }

    private static (string?, string?) ReadTls(TableReader r)
    {
        var certificate = r.OptionalString("tls_certificate");
        var privateKey = r.OptionalString("tls_private_key");
        if (certificate is not null && privateKey is null)
            throw r.Missing("tls_private_key", "tls_certificate is set, so set tls_private_key to the matching key file");
        if (certificate is null && privateKey is not null)
            throw r.Missing("tls_certificate", "tls_private_key is set, so set tls_certificate to the matching certificate file");
        return (certificate, privateKey);
    }
}
