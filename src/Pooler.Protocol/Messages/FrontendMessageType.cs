namespace Pooler.Protocol;

/// <summary>
/// Type bytes of the regular messages a client sends ("Message Formats", marked F). The
/// startup-phase packets (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest) have no
/// type byte; see <see cref="StartupCode"/>.
/// </summary>
public static class FrontendMessageType
{
    public const byte Bind = (byte)'B';
    public const byte Close = (byte)'C';
    public const byte CopyData = (byte)'d';
    public const byte CopyDone = (byte)'c';
    public const byte CopyFail = (byte)'f';
    public const byte Describe = (byte)'D';
    public const byte Execute = (byte)'E';
    public const byte Flush = (byte)'H';
    public const byte FunctionCall = (byte)'F';
    public const byte Parse = (byte)'P';

    /// <summary>PasswordMessage, SASLInitialResponse, SASLResponse and GSSResponse share this byte; the authentication exchange tells which.</summary>
    public const byte Password = (byte)'p';
    public const byte Query = (byte)'Q';
    public const byte Sync = (byte)'S';
    public const byte Terminate = (byte)'X';

    /// <summary>The message's name for logs, or null for a byte no client sends.</summary>
    public static string? NameOf(byte type) => type switch
    {
        Bind => nameof(Bind),
        Close => nameof(Close),
        CopyData => nameof(CopyData),
        CopyDone => nameof(CopyDone),
        CopyFail => nameof(CopyFail),
        Describe => nameof(Describe),
        Execute => nameof(Execute),
        Flush => nameof(Flush),
        FunctionCall => nameof(FunctionCall),
        Parse => nameof(Parse),
        Password => "PasswordMessage",
        Query => nameof(Query),
        Sync => nameof(Sync),
        Terminate => nameof(Terminate),
        _ => null,
    };
}
