using Pooler.Config;
using Pooler.Core.Routing;
using Xunit;

namespace Pooler.Core.Tests.Routing;

/// <summary>Comments before a query can pick its role and shard, for that query.</summary>
public sealed class RoutingCommentsTests
{
    [Theory]
    [InlineData("/* role: primary */ SELECT 1", ServerRole.Primary)]
    [InlineData("/*role:replica*/SELECT 1", ServerRole.Replica)]
    [InlineData("  /*   ROLE :  Replica   */\nSELECT 1", ServerRole.Replica)]
    [InlineData("/* role = 'primary' */ SELECT 1", ServerRole.Primary)]
    [InlineData("-- role: primary\nSELECT 1", ServerRole.Primary)]
    public void A_role_comment_picks_the_role(string sql, ServerRole role) =>
        Assert.Equal(new RoutingHints(role, null, null), RoutingComments.Read(sql));

    [Theory]
    [InlineData("/* sharding_key: 123 */ SELECT * FROM t", "123")]
    [InlineData("/*sharding_key:-5*/ SELECT 1", "-5")]
    [InlineData("/* sharding_key: 'user 7' */ SELECT 1", "user 7")]
    public void A_sharding_key_comment_gives_the_key(string sql, string key) =>
        Assert.Equal(new RoutingHints(null, key, null), RoutingComments.Read(sql));

    [Theory]
    [InlineData("/* shard: 2 */ SELECT 1", 2)]
    [InlineData("/* shard_id: 0 */ INSERT INTO t VALUES (1)", 0)]
    [InlineData("/* SHARD: '3' */ SELECT 1", 3)]
    public void A_shard_comment_gives_the_shard(string sql, int shard) =>
        Assert.Equal(new RoutingHints(null, null, shard), RoutingComments.Read(sql));

    [Fact]
    public void Several_hints_in_one_comment_or_several_comments_combine()
    {
        Assert.Equal(new RoutingHints(ServerRole.Replica, null, 1), RoutingComments.Read("/* shard: 1, role: replica */ SELECT 1"));
        Assert.Equal(new RoutingHints(ServerRole.Primary, "9", null),
            RoutingComments.Read("/* sharding_key: 9 */ -- role: primary\n /* app: billing */ SELECT 1"));
    }

    [Fact]
    public void A_later_comment_wins() =>
        Assert.Equal(new RoutingHints(null, null, 2), RoutingComments.Read("/* shard: 1 */ /* shard: 2 */ SELECT 1"));

    [Fact]
    public void Unknown_keys_are_ignored_beside_known_ones() =>
        Assert.Equal(new RoutingHints(ServerRole.Primary, null, null), RoutingComments.Read("/* app: billing, role: primary */ SELECT 1"));

    [Theory]
    [InlineData("SELECT 1")]
    [InlineData("")]
    [InlineData("SELECT /* role: primary */ 1")]
    [InlineData("SELECT 1 /* shard: 2 */")]
    [InlineData("SELECT '/* role: primary */'")]
    [InlineData("/* this query lists users */ SELECT 1")]
    [InlineData("/* role: primary and more */ SELECT 1")]
    [InlineData("/* role: master */ SELECT 1")]
    [InlineData("/* role: any */ SELECT 1")]
    [InlineData("/* shard: two */ SELECT 1")]
    [InlineData("/* shard: -1 */ SELECT 1")]
    [InlineData("/* role primary */ SELECT 1")]
    [InlineData("/* roles: primary */ SELECT 1")]
    [InlineData("/* role: primary /* nested */ */ SELECT 1")]
    [InlineData("/* role: primary")]
    [InlineData("/* sharding_key: */ SELECT 1")]
    [InlineData("/* sharding_key: '' */ SELECT 1")]
    public void Near_misses_ask_for_nothing(string sql)
    {
        var hints = RoutingComments.Read(sql);
        Assert.True(hints.IsEmpty, hints.ToString());
    }
}
