namespace Pooler.Protocol;

/// <summary>
/// A peer sent bytes that break the protocol: a short or malformed payload, an unknown code,
/// a message out of order. The connection that sent them cannot be trusted any more; the
/// pooler answers with SQLSTATE 08P01 and closes it.
/// </summary>
public sealed class ProtocolViolationException : Exception
{
    public ProtocolViolationException(string message)
        : base(message)
    {
    }

    public ProtocolViolationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The SQLSTATE PostgreSQL uses for this: protocol_violation.</summary>
    public string SqlState => Pooler.Protocol.SqlState.ProtocolViolation;
}
