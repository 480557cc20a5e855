using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using Pooler.Config;

namespace Pooler.Core.Routing;

/// <summary>The shard a sharding key maps to, or why the key cannot be used.</summary>
public readonly record struct ShardResult(int Shard, string? Error)
{
    public bool IsValid => Error is null;

    public static ShardResult Of(int shard) => new(shard, null);

    public static ShardResult Invalid(string error) => new(-1, error);
}

/// <summary>
/// PgCat's sharding functions (<see cref="ShardingFunction"/>): a sharding key to a shard number in
/// <c>[0, shards)</c>.
/// </summary>
public static class ShardingFunctions
{
    /// <summary>HASH_PARTITION_SEED, src/include/catalog/partition.h.</summary>
    public const ulong PartitionHashSeed = 0x7A5B22367996DCFD;

    /// <summary>
    /// The shard for a key given as text (SET SHARDING KEY, a <c>sharding_key</c> comment).
    /// <see cref="ShardingFunction.PgBigintHash"/> needs a bigint, read as PostgreSQL reads one
    /// (surrounding whitespace and a sign allowed); anything else is an error.
    /// <see cref="ShardingFunction.Sha1"/> hashes a bigint's canonical decimal text, as PgCat (which
    /// takes only integers) does, so <c>'007'</c> and <c>'7'</c> agree; any other key is hashed as written.
    /// </summary>
    public static ShardResult Shard(ShardingFunction function, string key, int shards)
    {
        bool isBigint = TryParseBigint(key, out long value);
        return function switch
        {
            ShardingFunction.PgBigintHash when isBigint => ShardResult.Of(PgBigintHash(value, shards)),
            ShardingFunction.PgBigintHash => ShardResult.Invalid($"sharding key \"{key}\" is not a bigint (pg_bigint_hash shards by bigint)"),
            ShardingFunction.Sha1 when isBigint => ShardResult.Of(Sha1(value, shards)),
            ShardingFunction.Sha1 => ShardResult.Of(Sha1(key, shards)),
            _ => throw new ArgumentOutOfRangeException(nameof(function), function, null),
        };
    }

    /// <summary>
    /// The partition PostgreSQL puts <paramref name="key"/> in for a table
    /// <c>PARTITION BY HASH (k bigint)</c> with partitions <c>FOR VALUES WITH (MODULUS shards, REMAINDER r)</c>:
    /// <c>hash_combine64(0, hashint8extended(key, HASH_PARTITION_SEED)) % shards</c>
    /// (compute_partition_hash_value in src/backend/partitioning/partbounds.c). The partition for
    /// remainder r is shard r.
    /// </summary>
    public static int PgBigintHash(long key, int shards)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shards);
        ulong rowHash = HashCombine64(0, HashInt8Extended(key, PartitionHashSeed));
        return (int)(rowHash % (ulong)shards);
    }

    /// <summary>
    /// PgCat's sha1 function: SHA-1 of the key's UTF-8 text; its last 4 bytes, read big-endian as an
    /// unsigned integer, modulo the shard count. (PgCat parses the last 8 hex digits of the digest.)
    /// </summary>
    public static int Sha1(string key, int shards)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shards);
        int length = Encoding.UTF8.GetMaxByteCount(key.Length);
        byte[]? rented = length > 256 ? ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> utf8 = rented ?? stackalloc byte[256];
        try
        {
            int written = Encoding.UTF8.GetBytes(key, utf8);
            Span<byte> digest = stackalloc byte[SHA1.HashSizeInBytes];
            SHA1.HashData(utf8[..written], digest);
            return (int)(BinaryPrimitives.ReadUInt32BigEndian(digest[^4..]) % (uint)shards);
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>PgCat's sha1 of an integer key: the SHA-1 of its decimal text.</summary>
    public static int Sha1(long key, int shards) => Sha1(key.ToString(CultureInfo.InvariantCulture), shards);

    /// <summary>
    /// Reads a bigint as PostgreSQL 15's int8in does: optional whitespace, an optional sign, decimal
    /// digits, optional whitespace; out of range is not a bigint.
    /// </summary>
    public static bool TryParseBigint(ReadOnlySpan<char> text, out long value) =>
        long.TryParse(text,
            NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite | NumberStyles.AllowLeadingSign,
            CultureInfo.InvariantCulture, out value);

    /// <summary>
    /// hashint8extended (src/backend/access/hash/hashfunc.c): folds the high half into the low half so
    /// an int8 hashes like the equal int4, then hash_uint32_extended.
    /// </summary>
    internal static ulong HashInt8Extended(long value, ulong seed)
    {
        uint low = (uint)value;
        uint high = (uint)(value >> 32);
        low ^= value >= 0 ? high : ~high;
        return HashUInt32Extended(low, seed);
    }

    /// <summary>hash_bytes_uint32_extended (src/common/hashfn.c): Bob Jenkins' lookup3, 64-bit result.</summary>
    internal static ulong HashUInt32Extended(uint k, ulong seed)
    {
        uint a, b, c;
        a = b = c = 0x9e3779b9 + sizeof(uint) + 3923095;
        if (seed != 0)
        {
            a += (uint)(seed >> 32);
            b += (uint)seed;
            Mix(ref a, ref b, ref c);
        }
        a += k;
        Final(ref a, ref b, ref c);
        return ((ulong)b << 32) | c;
    }

    /// <summary>hash_combine64 (src/include/common/hashfn.h).</summary>
    internal static ulong HashCombine64(ulong a, ulong b)
    {
        a ^= b + 0x49a0f4dd15e5a8e3 + (a << 54) + (a >> 7);
        return a;
    }

    private static void Mix(ref uint a, ref uint b, ref uint c)
    {
        a -= c; a ^= BitOperations.RotateLeft(c, 4); c += b;
        b -= a; b ^= BitOperations.RotateLeft(a, 6); a += c;
        c -= b; c ^= BitOperations.RotateLeft(b, 8); b += a;
        a -= c; a ^= BitOperations.RotateLeft(c, 16); c += b;
        b -= a; b ^= BitOperations.RotateLeft(a, 19); a += c;
        c -= b; c ^= BitOperations.RotateLeft(b, 4); b += a;
    }

    private static void Final(ref uint a, ref uint b, ref uint c)
    {
        c ^= b; c -= BitOperations.RotateLeft(b, 14);
        a ^= c; a -= BitOperations.RotateLeft(c, 11);
        b ^= a; b -= BitOperations.RotateLeft(a, 25);
        c ^= b; c -= BitOperations.RotateLeft(b, 16);
        a ^= c; a -= BitOperations.RotateLeft(c, 4);
        b ^= a; b -= BitOperations.RotateLeft(a, 14);
        c ^= b; c -= BitOperations.RotateLeft(b, 24);
    }
}
