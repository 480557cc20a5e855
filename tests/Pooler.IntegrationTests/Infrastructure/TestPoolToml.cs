namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>
/// The <c>[pools]</c> part of every harness pooler's TOML (<see cref="PoolerNode"/>, <see cref="PoolerCluster"/>):
/// pool <see cref="TestUsers.Database"/> in front of a test PostgreSQL, served to the three test roles.
/// The scram role logs in to Pooler with SCRAM, the md5 role with MD5, the cleartext role with a
/// cleartext password (each as PostgreSQL makes it log in to the server).
/// </summary>
public static class TestPoolToml
{
    /// <param name="userExtra">more keys for the scram role's user table (users.0)</param>
    public static string For(PostgresServer server, string poolMode, int poolSize, string userExtra = "") => $"""
        [pools.{TestUsers.Database}]
        pool_mode = "{poolMode}"

        [pools.{TestUsers.Database}.shards.0]
        servers = [["{server.Host}", {server.Port}, "primary"]]
        database = "{TestUsers.Database}"

        [pools.{TestUsers.Database}.users.0]
        username = "{TestUsers.Scram.Name}"
        password = "{TestUsers.Scram.Password}"
        pool_size = {poolSize}
        {userExtra}

        [pools.{TestUsers.Database}.users.1]
        username = "{TestUsers.Md5.Name}"
        password = "{TestUsers.Md5.Password}"
        auth_type = "md5"
        pool_size = {poolSize}

        [pools.{TestUsers.Database}.users.2]
        username = "{TestUsers.Cleartext.Name}"
        password = "{TestUsers.Cleartext.Password}"
        auth_type = "plain"
        pool_size = {poolSize}

        """;

    /// <summary>The scram role as the only user of pool <paramref name="pool"/> (fixtures that write their own pool tables).</summary>
    public static string ScramUser(string pool, int poolSize) => $"""
        [pools.{pool}.users.0]
        username = "{TestUsers.Scram.Name}"
        password = "{TestUsers.Scram.Password}"
        pool_size = {poolSize}
        """;
}
