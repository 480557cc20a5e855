using System.Collections.Concurrent;
using System.Security.Cryptography;
using Pooler.Core.Cluster;

namespace Pooler.Core.Clients;

/// <summary>
/// The BackendKeyData Pooler gives its clients, mapped to their sessions. A client's key is
/// Pooler's own, never a server's: the client's queries run on many server connections, and a
/// server key handed out once would let that client cancel whoever holds the connection later.
/// </summary>
public sealed class CancelRegistry(Func<int> nodeTag)
{
    private readonly ConcurrentDictionary<int, (int Secret, ClientSession Session)> _sessions = new();

    /// <summary>Issues a fresh (process id, secret) pair for a session.</summary>
    public (int ProcessId, int Secret) Register(ClientSession session)
    {
        var secret = RandomNumberGenerator.GetInt32(int.MinValue, int.MaxValue);
        while (true)
        {
            // The node's tag in bits 24-30 tells any node where to forward a cancel for this key.
            var pid = NodeTag.ProcessId(nodeTag(), RandomNumberGenerator.GetInt32(1, 1 << 24));
            if (_sessions.TryAdd(pid, (secret, session)))
                return (pid, secret);
        }
    }

    public void Unregister(int processId) => _sessions.TryRemove(processId, out _);

    /// <summary>The session a CancelRequest names, if the secret matches.</summary>
    public ClientSession? Find(int processId, int secret)
    {
        if (!_sessions.TryGetValue(processId, out var entry))
            return null;
        // Constant-time comparison: the secret is the only thing that authorises a cancel.
        var expected = BitConverter.GetBytes(entry.Secret);
        var actual = BitConverter.GetBytes(secret);
        return CryptographicOperations.FixedTimeEquals(expected, actual) ? entry.Session : null;
    }
}
