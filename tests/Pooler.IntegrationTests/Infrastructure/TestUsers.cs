namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>A PostgreSQL role the harness creates, and how pg_hba.conf makes it log in.</summary>
public sealed record TestUser(string Name, string Password, string AuthMethod);

/// <summary>The roles every throwaway server has; each logs in over TCP with a different method.</summary>
public static class TestUsers
{
    public static readonly TestUser Scram = new("pooler_scram", "scram-pass-1", "scram-sha-256");
    public static readonly TestUser Md5 = new("pooler_md5", "md5-pass-2", "md5");
    public static readonly TestUser Cleartext = new("pooler_plain", "plain-pass-3", "password");

    /// <summary>The database the harness creates for tests, owned by <see cref="Scram"/>.</summary>
    public const string Database = "pooler_test";

    public static IReadOnlyList<TestUser> All { get; } = [Scram, Md5, Cleartext];

    /// <summary>An Npgsql connection string to a pooler at host:port (Npgsql's own pooling off: we are the pool).</summary>
    public static string ConnectionString(string host, int port, TestUser? user = null, string database = Database, string extra = "")
    {
        user ??= Scram;
        return $"Host={host};Port={port};Username={user.Name};Password={user.Password};Database={database};" +
               $"Pooling=false;Timeout=30;Command Timeout=60;{extra}";
    }

    /// <summary>Opens an Npgsql connection to a pooler at host:port.</summary>
    public static async Task<Npgsql.NpgsqlConnection> OpenAsync(string host, int port, TestUser? user = null, string extra = "")
    {
        var connection = new Npgsql.NpgsqlConnection(ConnectionString(host, port, user, extra: extra));
        await connection.OpenAsync();
        return connection;
    }
}
