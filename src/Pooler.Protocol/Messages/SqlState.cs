namespace Pooler.Protocol;

/// <summary>SQLSTATE codes a pooler sends or reacts to (PostgreSQL "Appendix A. Error Codes").</summary>
public static class SqlState
{
    public const string SuccessfulCompletion = "00000";
    public const string ConnectionException = "08000";
    public const string ConnectionFailure = "08006";

    /// <summary>
    /// statement_completion_unknown: the server connection running the client's transaction was
    /// lost, so whether its last statement (a COMMIT, say) took effect is not known. Unlike the 08
    /// class, drivers keep the client's connection open after it (Npgsql closes on 08xxx).
    /// </summary>
    public const string StatementCompletionUnknown = "40003";
    public const string SqlClientUnableToEstablishSqlConnection = "08001";
    public const string ProtocolViolation = "08P01";
    public const string FeatureNotSupported = "0A000";
    public const string InvalidAuthorizationSpecification = "28000";
    public const string InvalidPassword = "28P01";

    /// <summary>active_sql_transaction: a transaction block where one is not allowed.</summary>
    public const string ActiveSqlTransaction = "25001";

    /// <summary>idle_in_transaction_session_timeout.</summary>
    public const string IdleInTransactionSessionTimeout = "25P03";

    public const string InvalidCatalogName = "3D000";
    public const string InsufficientPrivilege = "42501";
    public const string SyntaxError = "42601";
    public const string InvalidParameterValue = "22023";
    public const string ConfigFileError = "F0000";
    public const string ObjectNotInPrerequisiteState = "55000";
    public const string TooManyConnections = "53300";
    public const string ConfigurationLimitExceeded = "53400";
    public const string ProgramLimitExceeded = "54000";
    public const string QueryCanceled = "57014";
    public const string AdminShutdown = "57P01";
    public const string CannotConnectNow = "57P03";
    public const string InternalError = "XX000";
}
