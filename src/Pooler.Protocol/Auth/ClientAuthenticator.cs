using System.Buffers;

namespace Pooler.Protocol.Auth;

/// <summary>What the caller does after <see cref="ClientAuthenticator.Handle"/>.</summary>
public enum AuthStep
{
    /// <summary>Flush what was written (maybe nothing) and pass the server's next 'R' message in.</summary>
    Continue,

    /// <summary>AuthenticationOk arrived: the server now sends ParameterStatus, BackendKeyData and ReadyForQuery.</summary>
    Done,
}

/// <summary>
/// Logs a client in to a PostgreSQL server, without I/O. Pass the payload of every 'R' message
/// the server sends; the answer (PasswordMessage, SASLInitialResponse or SASLResponse) is
/// written to the output. Supports cleartext, MD5 and SCRAM-SHA-256 (without channel binding);
/// refuses Kerberos, GSSAPI and SSPI. An ErrorResponse ('E') during authentication is the
/// caller's to read: it ends the attempt.
/// </summary>
public sealed class ClientAuthenticator
{
    private readonly string _user;
    private readonly string? _password;
    private readonly string? _scramClientNonce;
    private ScramClient? _scram;

    /// <param name="password">
    /// The password, or null when none is configured (trust auth). A stored "md5…" secret also
    /// works for MD5 servers, as in PgBouncer, but not for SCRAM or cleartext.
    /// </param>
    /// <param name="scramClientNonce">Only for tests; normally random.</param>
    public ClientAuthenticator(string user, string? password, string? scramClientNonce = null)
    {
        ArgumentNullException.ThrowIfNull(user);
        _user = user;
        _password = password;
        _scramClientNonce = scramClientNonce;
    }

    /// <summary>The method the server asked for; null before the first message.</summary>
    public AuthenticationCode? Method { get; private set; }

    public bool IsDone { get; private set; }

    /// <summary>Handles the payload of one 'R' message.</summary>
    /// <exception cref="AuthenticationFailedException">No password, an unsupported method, or a server that failed SCRAM's mutual check.</exception>
    /// <exception cref="ProtocolViolationException">A malformed message, or one out of order.</exception>
    public AuthStep Handle(ReadOnlySpan<byte> authenticationPayload, IBufferWriter<byte> output)
    {
        if (IsDone)
        {
            throw new InvalidOperationException("Authentication has already finished.");
        }

        AuthenticationRequest request = AuthenticationRequest.Read(authenticationPayload);
        switch (request.Code)
        {
            case AuthenticationCode.Ok:
                return Finish();
            case AuthenticationCode.CleartextPassword:
                Method = request.Code;
                new PasswordMessage(RequirePassword(request.Code)).WriteTo(output);
                return AuthStep.Continue;
            case AuthenticationCode.Md5Password:
                Method = request.Code;
                new PasswordMessage(Md5Answer(request.Data.Span)).WriteTo(output);
                return AuthStep.Continue;
            case AuthenticationCode.Sasl:
                Method = request.Code;
                StartScram(request.Mechanisms, output);
                return AuthStep.Continue;
            case AuthenticationCode.SaslContinue:
                new SaslResponse(Scram(request.Code).HandleServerFirst(request.Data.Span)).WriteTo(output);
                return AuthStep.Continue;
            case AuthenticationCode.SaslFinal:
                Scram(request.Code).VerifyServerFinal(request.Data.Span);
                return AuthStep.Continue;
            default:
                throw new AuthenticationFailedException(
                    $"server requested {request.Code} authentication for user \"{_user}\", which Pooler does not support");
        }
    }

    private AuthStep Finish()
    {
        // Without this check a server (or a man in the middle) could skip SASLFinal and so
        // never prove it knows the password.
        if (_scram is not null && !_scram.IsComplete)
        {
            throw new AuthenticationFailedException("server sent AuthenticationOk before completing the SCRAM exchange");
        }

        Method ??= AuthenticationCode.Ok;
        IsDone = true;
        return AuthStep.Done;
    }

    private void StartScram(IReadOnlyList<string> mechanisms, IBufferWriter<byte> output)
    {
        if (_scram is not null)
        {
            throw new ProtocolViolationException("server sent AuthenticationSASL twice");
        }

        bool offered = false;
        foreach (string mechanism in mechanisms)
        {
            offered |= mechanism == ScramClient.Mechanism;
        }

        if (!offered)
        {
            throw new AuthenticationFailedException(
                $"server offers SASL mechanisms [{string.Join(", ", mechanisms)}], none of which Pooler supports (it speaks {ScramClient.Mechanism})");
        }

        _scram = new ScramClient(RequirePassword(AuthenticationCode.Sasl), _scramClientNonce);
        new SaslInitialResponse(ScramClient.Mechanism, _scram.CreateClientFirstMessage()).WriteTo(output);
    }

    private ScramClient Scram(AuthenticationCode code) =>
        _scram ?? throw new ProtocolViolationException($"server sent Authentication{code} before AuthenticationSASL");

    private string Md5Answer(ReadOnlySpan<byte> salt)
    {
        string password = RequirePassword(AuthenticationCode.Md5Password);
        return Md5Password.IsSecret(password)
            ? Md5Password.HashSecret(password, salt)
            : Md5Password.Hash(_user, password, salt);
    }

    private string RequirePassword(AuthenticationCode code) =>
        _password ?? throw new AuthenticationFailedException(
            $"server requested {code} authentication for user \"{_user}\" but no password is configured");
}
