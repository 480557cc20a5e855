using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Pooler.Protocol.Auth;

/// <summary>
/// The client side of SCRAM-SHA-256 without I/O, as a PostgreSQL server expects it: no channel
/// binding ('n'), an empty user name (the server uses the StartupMessage's), and a check of the
/// server's signature so a server that does not know the password cannot pretend it does.
/// </summary>
public sealed class ScramClient
{
    public const string Mechanism = ScramSha256.Mechanism;

    // "n,," : this client does not support channel binding. base64("n,,") is "biws".
    private const string Gs2Header = "n,,";

    private readonly string _password;
    private readonly string _clientNonce;
    private readonly string _clientFirstBare;
    private State _state = State.Initial;
    private byte[] _expectedServerSignature = [];

    /// <param name="clientNonce">Only for tests (RFC 7677 vectors); normally 18 random bytes in base64.</param>
    /// <param name="username">PostgreSQL ignores it; the RFC 7677 vector needs "user".</param>
    public ScramClient(string password, string? clientNonce = null, string username = "")
    {
        ArgumentNullException.ThrowIfNull(password);
        _password = password;
        _clientNonce = clientNonce ?? ScramSha256.NewNonce();
        if (!ScramSha256.IsValidNonce(_clientNonce))
        {
            throw new ArgumentException("A nonce is printable ASCII without ','.", nameof(clientNonce));
        }

        // RFC 5802 saslname: ',' and '=' are escaped.
        string escaped = username.Replace("=", "=3D", StringComparison.Ordinal).Replace(",", "=2C", StringComparison.Ordinal);
        _clientFirstBare = $"n={escaped},r={_clientNonce}";
    }

    private enum State
    {
        Initial,
        SentClientFirst,
        SentClientFinal,
        Verified,
    }

    /// <summary>True once the server's signature has been checked.</summary>
    public bool IsComplete => _state == State.Verified;

    /// <summary>The client-first-message, for SASLInitialResponse.</summary>
    public byte[] CreateClientFirstMessage()
    {
        Expect(State.Initial);
        _state = State.SentClientFirst;
        return Encoding.UTF8.GetBytes(Gs2Header + _clientFirstBare);
    }

    /// <summary>Takes the server-first-message (AuthenticationSASLContinue data); returns the client-final-message for SASLResponse.</summary>
    /// <exception cref="ProtocolViolationException">The server's message is malformed or its nonce does not extend ours.</exception>
    public byte[] HandleServerFirst(ReadOnlySpan<byte> serverFirstMessage)
    {
        Expect(State.SentClientFirst);
        string serverFirst = Encoding.UTF8.GetString(serverFirstMessage);
        string[] attributes = serverFirst.Split(',');
        if (attributes.Length < 3 || !attributes[0].StartsWith("r=", StringComparison.Ordinal)
            || !attributes[1].StartsWith("s=", StringComparison.Ordinal)
            || !attributes[2].StartsWith("i=", StringComparison.Ordinal))
        {
            throw new ProtocolViolationException("malformed SCRAM server-first-message: expected r=<nonce>,s=<salt>,i=<iterations>");
        }

        string nonce = attributes[0].Substring(2);
        if (!nonce.StartsWith(_clientNonce, StringComparison.Ordinal) || nonce.Length == _clientNonce.Length
            || !ScramSha256.IsValidNonce(nonce))
        {
            throw new ProtocolViolationException("SCRAM server nonce does not extend the client nonce");
        }

        if (!ScramSha256.TryDecodeBase64(attributes[1].Substring(2), out byte[] salt) || salt.Length == 0)
        {
            throw new ProtocolViolationException("malformed SCRAM server-first-message: the salt is not base64");
        }

        if (!int.TryParse(attributes[2].AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out int iterations) || iterations < 1)
        {
            throw new ProtocolViolationException("malformed SCRAM server-first-message: bad iteration count");
        }

        byte[] salted = ScramSha256.SaltedPassword(_password, salt, iterations);
        byte[] clientKey = ScramSha256.ClientKey(salted);
        string withoutProof = $"c={Convert.ToBase64String(Encoding.ASCII.GetBytes(Gs2Header))},r={nonce}";
        string authMessage = $"{_clientFirstBare},{serverFirst},{withoutProof}";
        byte[] clientSignature = ScramSha256.Hmac(ScramSha256.StoredKey(clientKey), authMessage);
        byte[] proof = ScramSha256.Xor(clientKey, clientSignature);
        _expectedServerSignature = ScramSha256.Hmac(ScramSha256.ServerKey(salted), authMessage);
        _state = State.SentClientFinal;
        return Encoding.UTF8.GetBytes($"{withoutProof},p={Convert.ToBase64String(proof)}");
    }

    /// <summary>Takes the server-final-message (AuthenticationSASLFinal data) and checks the server's signature.</summary>
    /// <exception cref="AuthenticationFailedException">The server reported an error (e=) or its signature is wrong.</exception>
    public void VerifyServerFinal(ReadOnlySpan<byte> serverFinalMessage)
    {
        Expect(State.SentClientFinal);
        string serverFinal = Encoding.UTF8.GetString(serverFinalMessage);
        if (serverFinal.StartsWith("e=", StringComparison.Ordinal))
        {
            throw new AuthenticationFailedException($"server rejected SCRAM authentication: {serverFinal.Substring(2)}");
        }

        string signature = serverFinal.Split(',')[0];
        if (!signature.StartsWith("v=", StringComparison.Ordinal)
            || !ScramSha256.TryDecodeBase64(signature.Substring(2), out byte[] received))
        {
            throw new ProtocolViolationException("malformed SCRAM server-final-message: expected v=<signature>");
        }

        if (!CryptographicOperations.FixedTimeEquals(received, _expectedServerSignature))
        {
            throw new AuthenticationFailedException(
                "SCRAM server signature is wrong: the server does not know the password (or a man in the middle answered)");
        }

        _state = State.Verified;
    }

    private void Expect(State state)
    {
        if (_state != state)
        {
            throw new InvalidOperationException($"SCRAM exchange is in state {_state}, not {state}.");
        }
    }
}
