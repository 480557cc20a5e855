using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;

namespace Pooler.Core.Cluster;

/// <summary>
/// What an entry node tells a pool's owner when it relays a client it has authenticated: which
/// pool and user, the client's settings, and who it is. The owner trusts it only with a proof
/// made with the cluster secret over a nonce the owner chose, so a client (which never knows the
/// secret) cannot forge or replay it.
/// </summary>
/// <remarks>
/// On the wire, in PostgreSQL's message framing: the owner sends <c>'N'</c> with a 32-byte
/// nonce; the entry answers <c>'H'</c> with name/value C-string pairs, an empty name, then the
/// 32-byte HMAC-SHA256 (key = SHA-256 of the secret) of nonce ‖ pairs. The owner then answers as
/// PostgreSQL answers a login: BackendKeyData and ReadyForQuery, or a FATAL ErrorResponse.
/// </remarks>
public sealed record RelayHandshake(string PoolName, string UserName, IReadOnlyDictionary<string, string> Settings,
    string EntryNode, string ClientId, string CancelHost, int CancelPort)
{
    public const byte NonceType = (byte)'N';

    /// <summary>
    /// The ParameterStatus name an owner sends over a relay to ask the entry node to give the relay
    /// up at its next quiet moment (the owner keeps serving what is already on its way).
    /// </summary>
    public const string ReleaseParameter = "pooler.relay_release";
    public const byte HandshakeType = (byte)'H';
    public const int NonceLength = 32;
    private const string SettingPrefix = "setting.";

    /// <summary>The secret is kept out of <see cref="ToString"/> and equality: it is not part of the record.</summary>
    public override string ToString() => $"relay of {ClientId} ({UserName}@{PoolName}) from {EntryNode}";

    public static byte[] NewNonce() => RandomNumberGenerator.GetBytes(NonceLength);

    public static void WriteNonce(PipeWriter output, byte[] nonce) => WriteMessage(output, NonceType, nonce);

    /// <summary>The entry's 'H' message for <paramref name="nonce"/>.</summary>
    public void Write(PipeWriter output, ReadOnlySpan<byte> nonce, string secret)
    {
        var fields = new List<byte>();
        void Add(string name, string value)
        {
            fields.AddRange(Encoding.UTF8.GetBytes(name));
            fields.Add(0);
            fields.AddRange(Encoding.UTF8.GetBytes(value));
            fields.Add(0);
        }
        Add("pool", PoolName);
        Add("user", UserName);
        Add("entry", EntryNode);
        Add("client", ClientId);
        Add("cancel_host", CancelHost);
        Add("cancel_port", CancelPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var (name, value) in Settings)
            Add(SettingPrefix + name, value);
        fields.Add(0);
        var body = fields.ToArray();
        var proof = Proof(secret, nonce, body);
        WriteMessage(output, HandshakeType, [.. body, .. proof]);
    }

    /// <summary>Reads and checks an 'H' payload; null (and why) when the proof does not match or it is malformed.</summary>
    public static RelayHandshake? Read(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> nonce, string secret, out string? problem)
    {
        problem = null;
        if (payload.Length < 1 + HmacLength)
        {
            problem = "relay handshake too short";
            return null;
        }
        var body = payload[..^HmacLength];
        var proof = payload[^HmacLength..];
        if (!CryptographicOperations.FixedTimeEquals(Proof(secret, nonce, body), proof))
        {
            problem = "relay handshake proof does not match (different cluster secret?)";
            return null;
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var rest = body;
        while (true)
        {
            var end = rest.IndexOf((byte)0);
            if (end < 0)
            {
                problem = "relay handshake field not terminated";
                return null;
            }
            if (end == 0)
                break;
            var name = Encoding.UTF8.GetString(rest[..end]);
            rest = rest[(end + 1)..];
            end = rest.IndexOf((byte)0);
            if (end < 0)
            {
                problem = "relay handshake value not terminated";
                return null;
            }
            var value = Encoding.UTF8.GetString(rest[..end]);
            rest = rest[(end + 1)..];
            if (name.StartsWith(SettingPrefix, StringComparison.Ordinal))
                settings[name[SettingPrefix.Length..]] = value;
            else
                values[name] = value;
        }
        if (!values.TryGetValue("pool", out var pool) || !values.TryGetValue("user", out var user) ||
            !int.TryParse(values.GetValueOrDefault("cancel_port"), out var cancelPort))
        {
            problem = "relay handshake lacks pool, user or cancel_port";
            return null;
        }
        return new RelayHandshake(pool, user, settings, values.GetValueOrDefault("entry", "?"),
            values.GetValueOrDefault("client", "?"), values.GetValueOrDefault("cancel_host", ""), cancelPort);
    }

    private const int HmacLength = 32;

    private static byte[] Proof(string secret, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> body)
    {
        var key = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(nonce);
        hmac.AppendData(body);
        return hmac.GetHashAndReset();
    }

    private static void WriteMessage(PipeWriter output, byte type, ReadOnlySpan<byte> payload)
    {
        var span = output.GetSpan(5 + payload.Length);
        span[0] = type;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], 4 + payload.Length);
        payload.CopyTo(span[5..]);
        output.Advance(5 + payload.Length);
    }
}
