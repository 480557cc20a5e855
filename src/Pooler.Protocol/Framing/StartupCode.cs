namespace Pooler.Protocol;

/// <summary>
/// The Int32 that follows the length in every startup-phase packet: a protocol version for a
/// StartupMessage, or one of the magic request codes ("Message Formats": SSLRequest,
/// GSSENCRequest, CancelRequest).
/// </summary>
public static class StartupCode
{
    /// <summary>Protocol 3.0: major 3 in the high 16 bits, minor 0 in the low 16.</summary>
    public const int ProtocolVersion3_0 = 3 << 16;

    /// <summary>Protocol 3.2 (PostgreSQL 18): variable-length cancel keys.</summary>
    public const int ProtocolVersion3_2 = (3 << 16) | 2;

    public const int CancelRequest = 80877102;

    public const int SslRequest = 80877103;

    public const int GssEncRequest = 80877104;

    public static int MajorVersion(int protocolVersion) => protocolVersion >> 16;

    public static int MinorVersion(int protocolVersion) => protocolVersion & 0xFFFF;
}

/// <summary>What a startup-phase packet asks for, decided from its code alone.</summary>
public enum StartupRequestKind
{
    /// <summary>A protocol version whose major is 3.</summary>
    StartupMessage,
    SslRequest,
    GssEncRequest,
    CancelRequest,

    /// <summary>Any other code, e.g. protocol 2.0 (131072): answer with an error.</summary>
    Unsupported,
}
