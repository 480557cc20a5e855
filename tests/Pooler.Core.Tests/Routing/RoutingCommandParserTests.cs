using Pooler.Core.Routing;
using Pooler.Protocol;
using Xunit;

namespace Pooler.Core.Tests.Routing;

/// <summary>PgCat's routing commands are answered by Pooler; everything else goes to the server.</summary>
public sealed class RoutingCommandParserTests
{
    [Theory]
    [InlineData("SET SERVER ROLE TO 'primary'", ServerRoleSetting.Primary)]
    [InlineData("set server role to 'replica';", ServerRoleSetting.Replica)]
    [InlineData("SET SERVER ROLE = auto", ServerRoleSetting.Auto)]
    [InlineData("  SET  Server\tRole TO 'ANY' ;  ", ServerRoleSetting.Any)]
    [InlineData("SET SERVER ROLE TO default", ServerRoleSetting.Default)]
    [InlineData("/* from the app */ SET SERVER ROLE TO 'primary' -- trailing", ServerRoleSetting.Primary)]
    public void Set_server_role_is_recognised(string sql, ServerRoleSetting role) =>
        Assert.Equal(new SetServerRole(role), RoutingCommandParser.Parse(sql));

    [Theory]
    [InlineData("SET SHARDING KEY TO '1234'", "1234")]
    [InlineData("set sharding key = 1234;", "1234")]
    [InlineData("SET SHARDING KEY TO -42", "-42")]
    [InlineData("SET SHARDING KEY TO 'user-7'", "user-7")]
    [InlineData("SET SHARDING KEY TO 'o''brien'", "o'brien")]
    public void Set_sharding_key_keeps_the_key_as_written(string sql, string key) =>
        Assert.Equal(new SetShardingKey(key), RoutingCommandParser.Parse(sql));

    [Theory]
    [InlineData("SET SHARD TO '2'", 2)]
    [InlineData("set shard = 0;", 0)]
    [InlineData("SET SHARD TO 'any'", null)]
    [InlineData("SET SHARD TO ANY", null)]
    public void Set_shard_takes_a_number_or_any(string sql, int? shard) =>
        Assert.Equal(new SetShard(shard), RoutingCommandParser.Parse(sql));

    [Theory]
    [InlineData("SET PRIMARY READS TO 'on'", PrimaryReadsSetting.On)]
    [InlineData("set primary reads = off;", PrimaryReadsSetting.Off)]
    [InlineData("SET PRIMARY READS TO default", PrimaryReadsSetting.Default)]
    public void Set_primary_reads_is_recognised(string sql, PrimaryReadsSetting setting) =>
        Assert.Equal(new SetPrimaryReads(setting), RoutingCommandParser.Parse(sql));

    [Fact]
    public void The_shows_are_recognised()
    {
        Assert.Same(ShowServerRole.Instance, RoutingCommandParser.Parse("SHOW SERVER ROLE"));
        Assert.Same(ShowServerRole.Instance, RoutingCommandParser.Parse("show server role;"));
        Assert.Same(ShowShard.Instance, RoutingCommandParser.Parse("SHOW SHARD"));
        Assert.Same(ShowShard.Instance, RoutingCommandParser.Parse(" show   shard ; "));
        Assert.Same(ShowPrimaryReads.Instance, RoutingCommandParser.Parse("SHOW PRIMARY READS;"));
    }

    [Theory]
    [InlineData("SET search_path TO app")]
    [InlineData("SET search_path = 'server role'")]
    [InlineData("SET ROLE admin")]
    [InlineData("SET SESSION AUTHORIZATION 'x'")]
    [InlineData("SET SERVER_ROLE TO 'primary'")]
    [InlineData("SET LOCAL SERVER ROLE TO 'primary'")]
    [InlineData("SET SERVER TO 'primary'")]
    [InlineData("SET SHARDING TO '1'")]
    [InlineData("SET SHARDS TO '1'")]
    [InlineData("SET SHARD_KEY TO '1'")]
    [InlineData("SET PRIMARY TO 'on'")]
    [InlineData("SHOW SHARDS")]
    [InlineData("SHOW server_version")]
    [InlineData("SHOW SERVER")]
    [InlineData("SHOW ROLE")]
    [InlineData("SHOW search_path")]
    [InlineData("SELECT 'SET SERVER ROLE TO primary'")]
    [InlineData("-- SET SERVER ROLE TO 'primary'")]
    [InlineData("/* SHOW SHARD */")]
    [InlineData("\"SET\" SERVER ROLE TO 'primary'")]
    [InlineData("")]
    public void Anything_else_is_not_a_routing_command(string sql) => Assert.Null(RoutingCommandParser.Parse(sql));

    [Theory]
    [InlineData("SET SERVER ROLE TO 'master'")]
    [InlineData("SET SHARD TO 'two'")]
    [InlineData("SET SHARD TO '-1'")]
    [InlineData("SET SHARD TO '99999999999'")]
    [InlineData("SET PRIMARY READS TO 'maybe'")]
    [InlineData("SET SHARDING KEY TO ''")]
    public void A_bad_value_is_an_invalid_parameter_value(string sql)
    {
        var invalid = Assert.IsType<InvalidRoutingCommand>(RoutingCommandParser.Parse(sql));
        Assert.Equal(SqlState.InvalidParameterValue, invalid.SqlState);
    }

    [Theory]
    [InlineData("SET SERVER ROLE 'primary'")]
    [InlineData("SET SERVER ROLE TO")]
    [InlineData("SET SERVER ROLE TO 'primary' 'replica'")]
    [InlineData("SET SERVER ROLE TO 'primary'; SELECT 1")]
    [InlineData("SET SHARD TO 1;;")]
    [InlineData("SET SHARDING KEY TO E'1'")]
    [InlineData("SET SHARDING KEY TO 'unterminated")]
    [InlineData("SET SHARDING KEY TO - 5")]
    [InlineData("SHOW SHARD 1")]
    [InlineData("SHOW SERVER ROLE; SELECT 1")]
    public void A_malformed_routing_command_is_a_syntax_error(string sql)
    {
        var invalid = Assert.IsType<InvalidRoutingCommand>(RoutingCommandParser.Parse(sql));
        Assert.Equal(SqlState.SyntaxError, invalid.SqlState);
    }
}
