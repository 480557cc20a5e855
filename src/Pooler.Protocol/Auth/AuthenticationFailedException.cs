namespace Pooler.Protocol.Auth;

/// <summary>
/// Authentication cannot succeed: wrong or missing password, a method Pooler does not speak,
/// or a server whose SCRAM signature does not prove it knows the password.
/// </summary>
public sealed class AuthenticationFailedException : Exception
{
    public AuthenticationFailedException(string message)
        : base(message)
    {
    }
}
