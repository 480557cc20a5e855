namespace Pooler.Protocol;

/// <summary>Type bytes of the messages a server sends ("Message Formats", marked B).</summary>
public static class BackendMessageType
{
    /// <summary>All Authentication* messages; the Int32 after the length tells which.</summary>
    public const byte Authentication = (byte)'R';
    public const byte BackendKeyData = (byte)'K';
    public const byte BindComplete = (byte)'2';
    public const byte CloseComplete = (byte)'3';
    public const byte CommandComplete = (byte)'C';
    public const byte CopyData = (byte)'d';
    public const byte CopyDone = (byte)'c';
    public const byte CopyInResponse = (byte)'G';
    public const byte CopyOutResponse = (byte)'H';
    public const byte CopyBothResponse = (byte)'W';
    public const byte DataRow = (byte)'D';
    public const byte EmptyQueryResponse = (byte)'I';
    public const byte ErrorResponse = (byte)'E';
    public const byte FunctionCallResponse = (byte)'V';
    public const byte NegotiateProtocolVersion = (byte)'v';
    public const byte NoData = (byte)'n';
    public const byte NoticeResponse = (byte)'N';
    public const byte NotificationResponse = (byte)'A';
    public const byte ParameterDescription = (byte)'t';
    public const byte ParameterStatus = (byte)'S';
    public const byte ParseComplete = (byte)'1';
    public const byte PortalSuspended = (byte)'s';
    public const byte ReadyForQuery = (byte)'Z';
    public const byte RowDescription = (byte)'T';

    /// <summary>The message's name for logs, or null for a byte no server sends.</summary>
    public static string? NameOf(byte type) => type switch
    {
        Authentication => nameof(Authentication),
        BackendKeyData => nameof(BackendKeyData),
        BindComplete => nameof(BindComplete),
        CloseComplete => nameof(CloseComplete),
        CommandComplete => nameof(CommandComplete),
        CopyData => nameof(CopyData),
        CopyDone => nameof(CopyDone),
        CopyInResponse => nameof(CopyInResponse),
        CopyOutResponse => nameof(CopyOutResponse),
        CopyBothResponse => nameof(CopyBothResponse),
        DataRow => nameof(DataRow),
        EmptyQueryResponse => nameof(EmptyQueryResponse),
        ErrorResponse => nameof(ErrorResponse),
        FunctionCallResponse => nameof(FunctionCallResponse),
        NegotiateProtocolVersion => nameof(NegotiateProtocolVersion),
        NoData => nameof(NoData),
        NoticeResponse => nameof(NoticeResponse),
        NotificationResponse => nameof(NotificationResponse),
        ParameterDescription => nameof(ParameterDescription),
        ParameterStatus => nameof(ParameterStatus),
        ParseComplete => nameof(ParseComplete),
        PortalSuspended => nameof(PortalSuspended),
        ReadyForQuery => nameof(ReadyForQuery),
        RowDescription => nameof(RowDescription),
        _ => null,
    };
}
