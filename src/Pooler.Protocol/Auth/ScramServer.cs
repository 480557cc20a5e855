using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Pooler.Protocol.Auth;

/// <summary>How a step of the server side of SCRAM ended.</summary>
public enum ScramServerStatus
{
    /// <summary>Send <see cref="ScramServerResult.Message"/> in AuthenticationSASLContinue and wait for the client-final-message.</summary>
    Continue,

    /// <summary>The proof is right: send <see cref="ScramServerResult.Message"/> in AuthenticationSASLFinal, then AuthenticationOk.</summary>
    Success,

    /// <summary>The proof is wrong: answer with SQLSTATE 28P01.</summary>
    WrongPassword,

    /// <summary>The client's message is malformed or asks for something unsupported: answer with SQLSTATE 08P01.</summary>
    ProtocolViolation,
}

/// <param name="Message">server-first-message (Continue) or server-final-message (Success); empty otherwise.</param>
/// <param name="Error">Why the exchange failed, for the log; null on Continue and Success.</param>
public readonly record struct ScramServerResult(ScramServerStatus Status, byte[] Message, string? Error)
{
    internal static ScramServerResult Violation(string error) => new(ScramServerStatus.ProtocolViolation, [], error);
}

/// <summary>
/// The server side of SCRAM-SHA-256 ("SASL Authentication" in the PostgreSQL docs, RFC 5802),
/// without I/O: feed it the client's SASL messages, send back what it returns. It does not offer
/// SCRAM-SHA-256-PLUS, so a client asking for channel binding ('p') is refused, and 'n' or 'y'
/// are accepted. One instance serves one login attempt.
/// </summary>
public sealed class ScramServer
{
    public const string Mechanism = ScramSha256.Mechanism;

    private readonly ScramSecret _secret;
    private readonly string _serverNonce;
    private readonly bool _doomed;
    private State _state = State.AwaitingClientFirst;
    private string _gs2Header = string.Empty;
    private string _clientFirstBare = string.Empty;
    private string _serverFirst = string.Empty;
    private string _nonce = string.Empty;

    /// <param name="serverNonce">Only for tests (RFC 7677 vectors); normally 18 random bytes in base64.</param>
    public ScramServer(ScramSecret secret, string? serverNonce = null)
        : this(secret, serverNonce, doomed: false)
    {
    }

    private ScramServer(ScramSecret secret, string? serverNonce, bool doomed)
    {
        ArgumentNullException.ThrowIfNull(secret);
        _secret = secret;
        _serverNonce = serverNonce ?? ScramSha256.NewNonce();
        if (!ScramSha256.IsValidNonce(_serverNonce))
        {
            throw new ArgumentException("A nonce is printable ASCII without ','.", nameof(serverNonce));
        }

        _doomed = doomed;
    }

    private enum State
    {
        AwaitingClientFirst,
        AwaitingClientFinal,
        Finished,
    }

    /// <summary>The mechanism list for AuthenticationSASL.</summary>
    public static IReadOnlyList<string> Mechanisms { get; } = [Mechanism];

    /// <summary>
    /// For a user configured with a plaintext password: derives a secret with a random salt and
    /// 4096 iterations (costly; see <see cref="ScramSecret.FromPassword(string)"/> to cache one).
    /// </summary>
    public static ScramServer ForPassword(string password) => new(ScramSecret.FromPassword(password));

    /// <summary>
    /// For a user that does not exist: runs the whole exchange with a made-up secret and fails
    /// at the end, as PostgreSQL does, so a client cannot probe which user names exist.
    /// </summary>
    public static ScramServer ForUnknownUser() =>
        new(new ScramSecret(
            ScramSecret.DefaultIterations,
            RandomNumberGenerator.GetBytes(ScramSecret.DefaultSaltLength),
            RandomNumberGenerator.GetBytes(ScramSha256.KeyLength),
            RandomNumberGenerator.GetBytes(ScramSha256.KeyLength)), null, doomed: true);

    /// <summary>Takes the client-first-message (the data of SASLInitialResponse); returns the server-first-message.</summary>
    public ScramServerResult HandleClientFirst(ReadOnlySpan<byte> clientFirstMessage)
    {
        Expect(State.AwaitingClientFirst);
        _state = State.Finished; // until it parses; a failed step ends the exchange
        string message = Encoding.UTF8.GetString(clientFirstMessage);

        // gs2-header: cbind-flag "," [authzid] ","
        if (message.StartsWith("p=", StringComparison.Ordinal))
        {
            return ScramServerResult.Violation("client requires channel binding (SCRAM-SHA-256-PLUS), which is not offered");
        }

        if (message.Length < 3 || message[0] is not ('n' or 'y') || message[1] != ',')
        {
            return ScramServerResult.Violation("malformed SCRAM message: expected channel binding flag 'n' or 'y'");
        }

        if (message[2] != ',')
        {
            return ScramServerResult.Violation("SCRAM authorization identity (a=) is not supported");
        }

        _gs2Header = message.Substring(0, 3);
        _clientFirstBare = message.Substring(3);
        string[] attributes = _clientFirstBare.Split(',');
        if (attributes[0].StartsWith("m=", StringComparison.Ordinal))
        {
            return ScramServerResult.Violation("SCRAM mandatory extensions (m=) are not supported");
        }

        // The user name (n=) is ignored: PostgreSQL authenticates the user of the StartupMessage.
        if (attributes.Length < 2 || !attributes[0].StartsWith("n=", StringComparison.Ordinal)
            || !attributes[1].StartsWith("r=", StringComparison.Ordinal))
        {
            return ScramServerResult.Violation("malformed SCRAM message: expected n=<user>,r=<nonce>");
        }

        string clientNonce = attributes[1].Substring(2);
        if (!ScramSha256.IsValidNonce(clientNonce))
        {
            return ScramServerResult.Violation("malformed SCRAM message: the client nonce is empty or not printable");
        }

        _nonce = clientNonce + _serverNonce;
        _serverFirst = string.Create(
            CultureInfo.InvariantCulture,
            $"r={_nonce},s={Convert.ToBase64String(_secret.Salt)},i={_secret.Iterations}");
        _state = State.AwaitingClientFinal;
        return new ScramServerResult(ScramServerStatus.Continue, Encoding.UTF8.GetBytes(_serverFirst), null);
    }

    /// <summary>Takes the client-final-message (the data of SASLResponse); checks the proof.</summary>
    public ScramServerResult HandleClientFinal(ReadOnlySpan<byte> clientFinalMessage)
    {
        Expect(State.AwaitingClientFinal);
        _state = State.Finished;
        string message = Encoding.UTF8.GetString(clientFinalMessage);
        string[] attributes = message.Split(',');
        int proofAt = message.LastIndexOf(",p=", StringComparison.Ordinal);
        if (attributes.Length < 3 || proofAt < 0
            || !attributes[0].StartsWith("c=", StringComparison.Ordinal)
            || !attributes[1].StartsWith("r=", StringComparison.Ordinal)
            || !attributes[^1].StartsWith("p=", StringComparison.Ordinal))
        {
            return ScramServerResult.Violation("malformed SCRAM message: expected c=<binding>,r=<nonce>,…,p=<proof>");
        }

        // Without channel binding data, c= must repeat the gs2-header exactly: this is what stops
        // a man in the middle from turning the client's 'y' or 'p' into an 'n'.
        if (!ScramSha256.TryDecodeBase64(attributes[0].Substring(2), out byte[] binding)
            || Encoding.UTF8.GetString(binding) != _gs2Header)
        {
            return ScramServerResult.Violation("SCRAM channel binding check failed: c= does not match the gs2 header");
        }

        if (attributes[1].Substring(2) != _nonce)
        {
            return ScramServerResult.Violation("SCRAM nonce mismatch");
        }

        if (!ScramSha256.TryDecodeBase64(attributes[^1].Substring(2), out byte[] proof) || proof.Length != ScramSha256.KeyLength)
        {
            return ScramServerResult.Violation("malformed SCRAM message: the proof is not base64 of 32 bytes");
        }

        string authMessage = $"{_clientFirstBare},{_serverFirst},{message.Substring(0, proofAt)}";
        byte[] clientSignature = ScramSha256.Hmac(_secret.StoredKey, authMessage);
        byte[] clientKey = ScramSha256.Xor(proof, clientSignature);
        bool proofMatches = CryptographicOperations.FixedTimeEquals(ScramSha256.StoredKey(clientKey), _secret.StoredKey);
        if (_doomed || !proofMatches)
        {
            return new ScramServerResult(ScramServerStatus.WrongPassword, [], "SCRAM proof does not match the password");
        }

        byte[] serverSignature = ScramSha256.Hmac(_secret.ServerKey, authMessage);
        string serverFinal = "v=" + Convert.ToBase64String(serverSignature);
        return new ScramServerResult(ScramServerStatus.Success, Encoding.UTF8.GetBytes(serverFinal), null);
    }

    private void Expect(State state)
    {
        if (_state != state)
        {
            throw new InvalidOperationException($"SCRAM exchange is in state {_state}, not {state}.");
        }
    }
}
