using Pooler.Config;
using Pooler.Core.Routing;
using Xunit;

namespace Pooler.Core.Tests.Routing;

/// <summary>Sharding keys land where PostgreSQL's hash partitioning, and PgCat, put them.</summary>
public sealed class ShardingFunctionsTests
{
    /// <summary>
    /// (key, partition for MODULUS 3, for MODULUS 4, for MODULUS 7), read from PostgreSQL 15.20
    /// (Debian 15.20-0+deb12u1): for m in 3, 4, 7, <c>CREATE TABLE t{m} (k bigint) PARTITION BY HASH (k)</c>
    /// with partitions <c>t{m}_p{r} FOR VALUES WITH (MODULUS m, REMAINDER r)</c>, every key inserted into
    /// each, and the partition read back with <c>SELECT k, tableoid::regclass FROM t{m}</c>.
    /// </summary>
    public static readonly TheoryData<long, int, int, int> PostgresPartitions = new()
    {
        { long.MinValue, 1, 3, 0 },
        { -9223372036854775807L, 0, 2, 5 },
        { -1152921504606846976L, 0, 0, 3 },
        { -81985529216486895L, 0, 2, 0 },
        { -1099511627776L, 2, 2, 6 },
        { -123456789012L, 1, 1, 6 },
        { -4294967297L, 1, 2, 4 },
        { -4294967296L, 2, 0, 4 },
        { -4294967295L, 2, 0, 5 },
        { -3000000000L, 2, 0, 0 },
        { -2147483650L, 0, 2, 5 },
        { -2147483649L, 1, 3, 0 },
        { -2147483648, 0, 2, 3 },
        { -2147483647, 0, 2, 5 },
        { -12345, 2, 1, 3 },
        { -20, 0, 3, 5 },
        { -19, 2, 0, 4 },
        { -18, 0, 0, 5 },
        { -17, 0, 2, 6 },
        { -16, 1, 3, 2 },
        { -15, 1, 1, 5 },
        { -14, 2, 3, 3 },
        { -13, 2, 1, 2 },
        { -12, 1, 1, 6 },
        { -11, 2, 1, 5 },
        { -10, 0, 3, 5 },
        { -9, 0, 3, 0 },
        { -8, 2, 1, 1 },
        { -7, 0, 2, 3 },
        { -6, 1, 2, 1 },
        { -5, 1, 3, 0 },
        { -4, 2, 2, 6 },
        { -3, 1, 0, 3 },
        { -2, 1, 2, 4 },
        { -1, 2, 1, 0 },
        { 0, 2, 0, 4 },
        { 1, 2, 0, 5 },
        { 2, 0, 2, 6 },
        { 3, 1, 1, 6 },
        { 4, 0, 3, 0 },
        { 5, 2, 1, 1 },
        { 6, 0, 3, 6 },
        { 7, 1, 3, 6 },
        { 8, 0, 1, 4 },
        { 9, 2, 1, 6 },
        { 10, 1, 3, 0 },
        { 11, 2, 1, 0 },
        { 12, 2, 0, 2 },
        { 13, 1, 2, 1 },
        { 14, 1, 0, 5 },
        { 15, 0, 3, 5 },
        { 16, 0, 0, 3 },
        { 17, 2, 0, 2 },
        { 18, 0, 2, 4 },
        { 19, 0, 1, 5 },
        { 20, 0, 1, 4 },
        { 21, 1, 1, 0 },
        { 22, 2, 3, 2 },
        { 23, 2, 2, 4 },
        { 24, 2, 3, 1 },
        { 25, 1, 2, 0 },
        { 26, 1, 0, 6 },
        { 27, 0, 2, 2 },
        { 28, 2, 0, 6 },
        { 29, 0, 3, 2 },
        { 30, 2, 0, 5 },
        { 31, 2, 1, 5 },
        { 32, 2, 0, 2 },
        { 33, 0, 3, 2 },
        { 34, 0, 0, 1 },
        { 35, 2, 1, 4 },
        { 36, 1, 1, 3 },
        { 37, 2, 1, 2 },
        { 38, 0, 1, 1 },
        { 39, 2, 2, 5 },
        { 40, 1, 3, 6 },
        { 100, 2, 1, 4 },
        { 1000, 2, 0, 5 },
        { 12345, 2, 0, 3 },
        { 65535, 0, 2, 2 },
        { 65536, 0, 0, 0 },
        { 2147483646, 0, 2, 5 },
        { 2147483647, 1, 3, 0 },
        { 2147483648L, 0, 2, 3 },
        { 2147483649L, 0, 2, 5 },
        { 3000000000L, 1, 2, 0 },
        { 4294967295L, 2, 1, 0 },
        { 4294967296L, 2, 0, 5 },
        { 4294967297L, 2, 0, 4 },
        { 123456789012L, 2, 3, 2 },
        { 1099511627776L, 0, 2, 5 },
        { 9007199254740993L, 0, 1, 4 },
        { 81985529216486895L, 2, 3, 2 },
        { 1152921504606846976L, 0, 3, 0 },
        { 9223372036854775806L, 0, 2, 5 },
        { long.MaxValue, 0, 2, 3 },
    };

    [Theory]
    [MemberData(nameof(PostgresPartitions))]
    public void Pg_bigint_hash_picks_the_partition_postgres_picks(long key, int modulus3, int modulus4, int modulus7)
    {
        Assert.Equal(modulus3, ShardingFunctions.PgBigintHash(key, 3));
        Assert.Equal(modulus4, ShardingFunctions.PgBigintHash(key, 4));
        Assert.Equal(modulus7, ShardingFunctions.PgBigintHash(key, 7));
    }

    /// <summary><c>SELECT k, hashint8extended(k, 8816678312871386365)</c> (the seed 0x7A5B22367996DCFD) on PostgreSQL 15.20.</summary>
    [Theory]
    [InlineData(long.MinValue, -6050265599104649060)]
    [InlineData(-1, -5017072347659237694)]
    [InlineData(0, -4403592609991167795)]
    [InlineData(1, 5968994663651403477)]
    [InlineData(2147483648L, 4938542303000433043)]
    [InlineData(123456789012L, 1825551100719034884)]
    [InlineData(long.MaxValue, 4938542303000433043)]
    public void The_int8_hash_is_postgres_hashint8extended(long key, long hash) =>
        Assert.Equal(hash, unchecked((long)ShardingFunctions.HashInt8Extended(key, ShardingFunctions.PartitionHashSeed)));

    /// <summary>PgCat's own test (src/sharding.rs test_sha1_hash): keys 0..19 over 12 shards.</summary>
    [Fact]
    public void Sha1_of_an_integer_matches_pgcat()
    {
        int[] expected = [4, 7, 8, 3, 6, 0, 0, 10, 3, 11, 1, 7, 4, 4, 11, 2, 5, 0, 8, 3];
        for (int key = 0; key < expected.Length; key++)
            Assert.Equal(expected[key], ShardingFunctions.Sha1(key, 12));
    }

    /// <summary>Expected values from Python: <c>int(hashlib.sha1(key.encode()).hexdigest()[-8:], 16) % shards</c>.</summary>
    [Theory]
    [InlineData("user-42", 5, 2)]
    [InlineData("user-42", 7, 0)]
    [InlineData("héllo", 5, 2)]
    [InlineData("héllo", 7, 2)]
    [InlineData("abc", 7, 4)]
    [InlineData("-5", 7, 4)]
    public void Sha1_of_text_hashes_its_utf8_bytes(string key, int shards, int shard) =>
        Assert.Equal(shard, ShardingFunctions.Sha1(key, shards));

    [Fact]
    public void Sha1_of_a_long_key_uses_a_rented_buffer_and_agrees_with_itself()
    {
        var key = new string('k', 1000);
        Assert.Equal(ShardingFunctions.Sha1(key, 97), ShardingFunctions.Sha1(key, 97));
    }

    [Theory]
    [InlineData("42", 42)]
    [InlineData(" 42 ", 42)]
    [InlineData("+42", 42)]
    [InlineData("-9223372036854775808", long.MinValue)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void A_text_key_is_read_as_postgres_reads_a_bigint(string text, long key) =>
        Assert.Equal(ShardResult.Of(ShardingFunctions.PgBigintHash(key, 7)), ShardingFunctions.Shard(ShardingFunction.PgBigintHash, text, 7));

    [Theory]
    [InlineData("abc")]
    [InlineData("")]
    [InlineData("1.5")]
    [InlineData("1_000")]
    [InlineData("0x10")]
    [InlineData("9223372036854775808")]
    public void A_text_key_that_is_not_a_bigint_is_an_error_for_pg_bigint_hash(string text)
    {
        var result = ShardingFunctions.Shard(ShardingFunction.PgBigintHash, text, 7);
        Assert.False(result.IsValid);
        Assert.Contains("not a bigint", result.Error);
    }

    [Fact]
    public void Sha1_hashes_an_integer_key_in_canonical_form_and_other_text_as_written()
    {
        Assert.Equal(ShardResult.Of(ShardingFunctions.Sha1(7, 12)), ShardingFunctions.Shard(ShardingFunction.Sha1, "007", 12));
        Assert.Equal(ShardResult.Of(ShardingFunctions.Sha1("user-42", 5)), ShardingFunctions.Shard(ShardingFunction.Sha1, "user-42", 5));
    }

    [Fact]
    public void One_shard_takes_every_key()
    {
        Assert.Equal(0, ShardingFunctions.PgBigintHash(long.MinValue, 1));
        Assert.Equal(0, ShardingFunctions.Sha1("anything", 1));
    }

    [Fact]
    public void No_shards_is_a_programming_error() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ShardingFunctions.PgBigintHash(1, 0));
}
