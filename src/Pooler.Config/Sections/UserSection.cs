using Pooler.Config.Toml;

namespace Pooler.Config.Sections;

/// <summary>Reads one <c>[pools.&lt;name&gt;.users.&lt;n&gt;]</c>.</summary>
internal static class UserSection
{
    public static UserConfig Read(TableReader r, PoolConfig pool, GeneralConfig general)
    {
        var username = r.RequiredString("username", "set username = \"<the role clients log in as>\"");
        if (!Validation.FitsIdentifier(username))
            throw r.Error("username", Validation.TooLong("the username"));

        var password = r.RequiredString("password",
            "set password = \"<the password>\" (or PostgreSQL's md5… / SCRAM-SHA-256$… secret)", secret: true);
        var passwordKind = Classify(r, "password", password);
        var authType = r.Choice("auth_type", general.AuthType, ConfigNames.AuthTypes);

        // An MD5 secret holds md5(password || username), from which no SCRAM proof can be checked.
        if (authType == AuthType.ScramSha256 && passwordKind == PasswordKind.Md5)
            throw r.Error(r.Has("auth_type") ? "auth_type" : "password",
                "an MD5 secret cannot check a SCRAM-SHA-256 login; set auth_type = \"md5\" or give the password itself");

        var serverUsername = r.OptionalString("server_username") ?? username;
        if (!Validation.FitsIdentifier(serverUsername))
            throw r.Error("server_username", Validation.TooLong("the server username"));
        var serverPassword = r.OptionalString("server_password", secret: true);
        var serverPasswordKind = serverPassword is null ? passwordKind : Classify(r, "server_password", serverPassword);

        var poolSize = r.Int("pool_size", 0, 1, int.MaxValue);
        if (!r.Has("pool_size"))
            throw r.Missing("pool_size", "set pool_size = <most server connections for this user, cluster-wide>, e.g. pool_size = 10");
        var minPoolSize = r.Int("min_pool_size", Defaults.User.MinPoolSize, 0);
        if (minPoolSize > poolSize)
            throw r.Error("min_pool_size", $"must not be larger than pool_size ({poolSize}), got {minPoolSize}");

        var user = new UserConfig
        {
            Username = username,
            Password = password,
            PasswordKind = passwordKind,
            AuthType = authType,
            ServerUsername = serverUsername,
            ServerPassword = serverPassword ?? password,
            ServerPasswordKind = serverPasswordKind,
            PoolSize = poolSize,
            MinPoolSize = minPoolSize,
            StatementTimeout = r.Milliseconds("statement_timeout", Defaults.User.StatementTimeout),
            PoolMode = r.Choice("pool_mode", pool.PoolMode, ConfigNames.PoolModes),
            ConnectTimeout = r.Milliseconds("connect_timeout", pool.ConnectTimeout),
            IdleTimeout = r.Milliseconds("idle_timeout", pool.IdleTimeout),
            ServerLifetime = r.Milliseconds("server_lifetime", pool.ServerLifetime),
        };
        r.RejectUnknownKeys();
        return user;
    }

    private static PasswordKind Classify(TableReader r, string key, string password) =>
        Passwords.TryClassify(password, out var kind, out var problem) ? kind : throw r.Error(key, problem);
}
