using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Pooler.Config;
using Pooler.Core.Wire;
using Pooler.Protocol;
using Pooler.Protocol.Auth;

namespace Pooler.Core.Clients;

/// <summary>
/// The server side of a client's login, run right after its StartupMessage ("Start-up" in the
/// protocol chapter of the PostgreSQL docs): asks for the configured method, checks the answer
/// against the user's stored password and ends with AuthenticationOk or one FATAL ErrorResponse.
/// An unknown user goes through the same exchange and gets the same error as a wrong password,
/// as in PostgreSQL, so a client cannot probe which user names exist.
/// </summary>
public static class ClientAuthentication
{
    /// <param name="storedPassword">
    /// The user's configured password: plaintext, a SCRAM secret ("SCRAM-SHA-256$…") or an MD5
    /// secret ("md5" + 32 hex digits); null when the user is unknown.
    /// </param>
    public static async Task<ClientAuthOutcome> AuthenticateAsync(
        PipeReader input, PipeWriter output, string userName, string? storedPassword, AuthType method,
        int maxMessageSize, CancellationToken cancellationToken)
    {
        ClientAuthResult result = await AuthenticateWithReasonAsync(
            input, output, userName, storedPassword, method, maxMessageSize, cancellationToken);
        return result.Outcome;
    }

    /// <summary>Like <see cref="AuthenticateAsync"/>, with the reason for a failure to log.</summary>
    public static async Task<ClientAuthResult> AuthenticateWithReasonAsync(
        PipeReader input, PipeWriter output, string userName, string? storedPassword, AuthType method,
        int maxMessageSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(userName);
        var login = new Login(input, output, userName, maxMessageSize, cancellationToken);
        try
        {
            string? mismatch = method switch
            {
                AuthType.ScramSha256 => await login.ScramAsync(storedPassword),
                AuthType.Md5 => await login.Md5Async(storedPassword),
                AuthType.Plain => await login.CleartextAsync(storedPassword),
                _ => throw new ArgumentOutOfRangeException(nameof(method), method, "unknown authentication method"),
            };
            if (mismatch is not null)
            {
                await login.FatalAsync(SqlState.InvalidPassword, $"password authentication failed for user \"{userName}\"");
                return ClientAuthResult.Failed($"password authentication failed for user \"{userName}\": {mismatch}");
            }

            AuthenticationRequest.Ok.WriteTo(output);
            await output.FlushAsync(cancellationToken);
            return ClientAuthResult.Authenticated;
        }
        catch (ClientGoneException gone)
        {
            return ClientAuthResult.Disconnected(gone.Message);
        }
        catch (IOException e)
        {
            // Kestrel's transport surfaces a connection reset as an IOException from ReadAsync.
            return ClientAuthResult.Disconnected($"client connection failed during authentication: {e.Message}");
        }
        catch (ProtocolViolationException e)
        {
            await login.FatalAsync(SqlState.ProtocolViolation, e.Message);
            return ClientAuthResult.Failed(e.Message);
        }
        catch (LoginRefusedException e)
        {
            await login.FatalAsync(e.SqlState, e.Message);
            return ClientAuthResult.Failed(e.Message);
        }
    }

    /// <summary>One login attempt on one client connection; each exchange returns null when the password matched, else why not.</summary>
    private sealed class Login(PipeReader input, PipeWriter output, string userName, int maxMessageSize, CancellationToken cancellationToken)
    {
        private const string UnknownUser = "no such user is configured";

        /// <summary>SCRAM-SHA-256 ("SASL Authentication" in the protocol docs, RFC 5802/7677).</summary>
        public async Task<string?> ScramAsync(string? storedPassword)
        {
            ScramServer server = CreateScramServer(storedPassword, out string? doomedBecause);
            await SendAsync(AuthenticationRequest.Sasl(ScramServer.Mechanisms));

            SaslInitialResponse initial = SaslInitialResponse.Read(await ReadPasswordMessageAsync());
            if (initial.Mechanism != ScramServer.Mechanism)
            {
                throw new LoginRefusedException(
                    SqlState.InvalidAuthorizationSpecification,
                    $"unsupported SASL mechanism \"{initial.Mechanism}\" (the pooler offers {ScramServer.Mechanism})");
            }

            ScramServerResult first = server.HandleClientFirst(initial.Data ?? []);
            if (first.Status != ScramServerStatus.Continue)
            {
                throw new ProtocolViolationException(first.Error ?? "SCRAM exchange failed");
            }

            await SendAsync(AuthenticationRequest.SaslContinue(first.Message));

            SaslResponse response = SaslResponse.Read(await ReadPasswordMessageAsync());
            ScramServerResult final = server.HandleClientFinal(response.Data);
            switch (final.Status)
            {
                case ScramServerStatus.Success:
                    // AuthenticationOk follows; the caller's flush sends both together.
                    AuthenticationRequest.SaslFinal(final.Message).WriteTo(output);
                    return null;
                case ScramServerStatus.WrongPassword:
                    return doomedBecause ?? final.Error ?? "SCRAM proof does not match the password";
                default:
                    throw new ProtocolViolationException(final.Error ?? "SCRAM exchange failed");
            }
        }

        /// <summary>AuthenticationMD5Password with a fresh 4-byte salt.</summary>
        public async Task<string?> Md5Async(string? storedPassword)
        {
            byte[] salt = Md5Password.CreateSalt();
            await SendAsync(AuthenticationRequest.Md5Password(salt));
            string answer = PasswordMessage.Read(await ReadPasswordMessageAsync()).Password;
            if (storedPassword is null)
            {
                return UnknownUser;
            }

            if (ScramSecret.LooksLikeSecret(storedPassword))
            {
                return "the stored password is a SCRAM secret, which cannot verify an MD5 answer";
            }

            return Md5Password.Verify(answer, userName, storedPassword, salt) ? null : "MD5 hash does not match the password";
        }

        /// <summary>AuthenticationCleartextPassword: the client sends the password itself.</summary>
        public async Task<string?> CleartextAsync(string? storedPassword)
        {
            await SendAsync(AuthenticationRequest.CleartextPassword);
            string password = PasswordMessage.Read(await ReadPasswordMessageAsync()).Password;
            if (storedPassword is null)
            {
                return UnknownUser;
            }

            // PostgreSQL refuses an empty password whatever is stored.
            if (password.Length == 0)
            {
                return "the client sent an empty password";
            }

            return VerifyCleartext(password, storedPassword);
        }

        public async Task FatalAsync(string sqlState, string message)
        {
            try
            {
                await PipeMessages.WriteErrorAsync(output, ErrorSeverity.Fatal, sqlState, message);
            }
            catch (IOException)
            {
                // The client is gone; there is no one left to tell.
            }
        }

        private string? VerifyCleartext(string password, string storedPassword)
        {
            if (ScramSecret.LooksLikeSecret(storedPassword))
            {
                if (!ScramSecret.TryParse(storedPassword, out ScramSecret? secret))
                {
                    return "the stored SCRAM secret is malformed";
                }

                // Derive with the secret's own salt and iterations, as PostgreSQL's scram_verify_plain_password.
                ScramSecret derived = ScramSecret.FromPassword(password, secret.Salt, secret.Iterations);
                bool matches = CryptographicOperations.FixedTimeEquals(derived.StoredKey, secret.StoredKey)
                    & CryptographicOperations.FixedTimeEquals(derived.ServerKey, secret.ServerKey);
                return matches ? null : "password does not match the stored SCRAM secret";
            }

            if (Md5Password.IsSecret(storedPassword))
            {
                string expected = Md5Password.CreateSecret(userName, password);
                return SameInConstantTime(expected, storedPassword.ToLowerInvariant())
                    ? null
                    : "password does not match the stored MD5 secret";
            }

            return SameInConstantTime(password, storedPassword) ? null : "password does not match";
        }

        /// <summary>
        /// The SCRAM secret of a configured plaintext password, derived once (4,096 rounds of
        /// PBKDF2 cost about a millisecond of CPU) and kept as long as the configuration holds that
        /// password — as PostgreSQL keeps one salted secret per role.
        /// </summary>
        private static ScramSecret SecretFor(string password) =>
            s_secrets.GetValue(password, static p => ScramSecret.FromPassword(p));

        private static readonly ConditionalWeakTable<string, ScramSecret> s_secrets = new();

        private static ScramServer CreateScramServer(string? storedPassword, out string? doomedBecause)
        {
            // When the stored password cannot check a SCRAM proof, run the exchange with a made-up
            // secret and fail at the end, as PostgreSQL does: the client learns nothing it would
            // not learn from a wrong password.
            doomedBecause = null;
            if (storedPassword is null)
            {
                doomedBecause = UnknownUser;
            }
            else if (ScramSecret.LooksLikeSecret(storedPassword))
            {
                if (ScramSecret.TryParse(storedPassword, out ScramSecret? secret))
                {
                    return new ScramServer(secret);
                }

                doomedBecause = "the stored SCRAM secret is malformed";
            }
            else if (Md5Password.IsSecret(storedPassword))
            {
                doomedBecause = "the stored password is an MD5 secret, which cannot verify SCRAM-SHA-256 (store the plaintext or a SCRAM secret)";
            }
            else
            {
                return new ScramServer(SecretFor(storedPassword));
            }

            return ScramServer.ForUnknownUser();
        }

        /// <summary>
        /// Compares hashes rather than the strings so that neither the content nor the length of
        /// the stored password shows in the time taken.
        /// </summary>
        private static bool SameInConstantTime(string a, string b) =>
            CryptographicOperations.FixedTimeEquals(
                SHA256.HashData(Encoding.UTF8.GetBytes(a)),
                SHA256.HashData(Encoding.UTF8.GetBytes(b)));

        private async Task SendAsync(AuthenticationRequest request)
        {
            request.WriteTo(output);
            FlushResult flushed = await output.FlushAsync(cancellationToken);
            if (flushed.IsCompleted)
            {
                throw new ClientGoneException("client closed the connection during authentication");
            }
        }

        /// <summary>The payload of the next message, which must be a 'p' (PasswordMessage, SASLInitialResponse or SASLResponse).</summary>
        private async Task<byte[]> ReadPasswordMessageAsync()
        {
            // psql closes the connection right after the first request when it has no password:
            // it prompts for one and reconnects. That is a disconnect, not a failure.
            WireMessage message = await PipeMessages.ReadAsync(input, maxMessageSize, cancellationToken)
                ?? throw new ClientGoneException("client closed the connection during authentication");
            if (message.Type != FrontendMessageType.Password)
            {
                throw new ProtocolViolationException(
                    $"expected a password message, got {FrameScanner.TypeName(message.Type)}");
            }

            return message.Payload;
        }
    }

    private sealed class ClientGoneException(string message) : Exception(message);

    /// <summary>A refusal that is neither a wrong password (28P01) nor a protocol violation (08P01).</summary>
    private sealed class LoginRefusedException(string sqlState, string message) : Exception(message)
    {
        public string SqlState { get; } = sqlState;
    }
}
