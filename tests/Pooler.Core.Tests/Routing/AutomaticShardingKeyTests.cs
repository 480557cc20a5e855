using Pooler.Core.Routing;
using Xunit;

namespace Pooler.Core.Tests.Routing;

public sealed class AutomaticShardingKeyTests
{
    [Theory]
    [InlineData("SELECT * FROM items WHERE id = 42", "42")]
    [InlineData("select v from items where items.id = '7'", "7")]
    [InlineData("UPDATE items SET v = 'x' WHERE ID=-7 AND v <> 'y'", "-7")]
    [InlineData("DELETE FROM items WHERE \"id\" = 5 OR id = 5", "5")]
    [InlineData("INSERT INTO items (id, v) SELECT 1, 'a' WHERE 1 = 1 AND id = 3", "3")]
    public void Finds_the_key_compared_with_a_literal(string sql, string key) =>
        Assert.Equal(key, AutomaticShardingKey.Find(sql, "items.id"));

    [Theory]
    [InlineData("SELECT * FROM items")]
    [InlineData("SELECT * FROM items WHERE id = $1")]
    [InlineData("SELECT * FROM items WHERE id = 1 OR id = 2")]
    [InlineData("SELECT * FROM items i JOIN other o ON o.id = 3")]
    [InlineData("SELECT 'id = 4' FROM items")]
    [InlineData("SELECT * FROM items WHERE id > 4")]
    [InlineData("SELECT * FROM items WHERE other_id = 4")]
    public void Gives_no_key_when_unsure(string sql) =>
        Assert.Null(AutomaticShardingKey.Find(sql, "items.id"));
}
