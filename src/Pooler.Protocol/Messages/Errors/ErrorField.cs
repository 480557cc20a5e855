namespace Pooler.Protocol;

/// <summary>One field of an ErrorResponse or NoticeResponse: a code byte and its text.</summary>
public readonly record struct ErrorField(byte Code, string Value)
{
    public override string ToString() => $"{(char)Code}={Value}";
}

/// <summary>
/// Field codes of ErrorResponse and NoticeResponse ("Error and Notice Message Fields").
/// Clients must ignore codes they do not know, and so a pooler must pass them on unchanged.
/// </summary>
public static class ErrorFieldCode
{
    /// <summary>Severity, possibly localized: ERROR, FATAL, PANIC, WARNING, NOTICE, DEBUG, INFO, LOG.</summary>
    public const byte Severity = (byte)'S';

    /// <summary>Severity, never localized (PostgreSQL 9.6+).</summary>
    public const byte SeverityNonLocalized = (byte)'V';
    public const byte SqlState = (byte)'C';
    public const byte Message = (byte)'M';
    public const byte Detail = (byte)'D';
    public const byte Hint = (byte)'H';

    /// <summary>1-based character index into the original query string.</summary>
    public const byte Position = (byte)'P';

    /// <summary>Like Position, into <see cref="InternalQuery"/>.</summary>
    public const byte InternalPosition = (byte)'p';
    public const byte InternalQuery = (byte)'q';
    public const byte Where = (byte)'W';
    public const byte SchemaName = (byte)'s';
    public const byte TableName = (byte)'t';
    public const byte ColumnName = (byte)'c';
    public const byte DataTypeName = (byte)'d';
    public const byte ConstraintName = (byte)'n';
    public const byte File = (byte)'F';
    public const byte Line = (byte)'L';
    public const byte Routine = (byte)'R';

    /// <summary>True for the codes PostgreSQL documents; the rest are kept but not named.</summary>
    public static bool IsKnown(byte code) => code switch
    {
        Severity or SeverityNonLocalized or SqlState or Message or Detail or Hint or Position
            or InternalPosition or InternalQuery or Where or SchemaName or TableName or ColumnName
            or DataTypeName or ConstraintName or File or Line or Routine => true,
        _ => false,
    };
}

/// <summary>Severity words PostgreSQL sends (in the non-localized 'V' field).</summary>
public static class ErrorSeverity
{
    public const string Error = "ERROR";
    public const string Fatal = "FATAL";
    public const string Panic = "PANIC";
    public const string Warning = "WARNING";
    public const string Notice = "NOTICE";
    public const string Debug = "DEBUG";
    public const string Info = "INFO";
    public const string Log = "LOG";
}
