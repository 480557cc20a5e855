using System.Buffers;

namespace Pooler.Protocol;

/// <summary>
/// The shared body of ErrorResponse and NoticeResponse: a list of (code, text) fields ended by a
/// zero byte. Fields are kept in wire order, unknown codes included, so a message read from a
/// server and written to a client comes out byte for byte the same.
/// </summary>
public abstract class ErrorOrNotice
{
    private readonly List<ErrorField> _fields = [];

    /// <summary>Every field in wire order, known and unknown.</summary>
    public IReadOnlyList<ErrorField> Fields => _fields;

    public string? Severity { get => this[ErrorFieldCode.Severity]; init => Set(ErrorFieldCode.Severity, value); }

    public string? SeverityNonLocalized
    {
        get => this[ErrorFieldCode.SeverityNonLocalized];
        init => Set(ErrorFieldCode.SeverityNonLocalized, value);
    }

    public string? SqlState { get => this[ErrorFieldCode.SqlState]; init => Set(ErrorFieldCode.SqlState, value); }

    public string? Message { get => this[ErrorFieldCode.Message]; init => Set(ErrorFieldCode.Message, value); }

    public string? Detail { get => this[ErrorFieldCode.Detail]; init => Set(ErrorFieldCode.Detail, value); }

    public string? Hint { get => this[ErrorFieldCode.Hint]; init => Set(ErrorFieldCode.Hint, value); }

    /// <summary>Decimal text, as sent.</summary>
    public string? Position { get => this[ErrorFieldCode.Position]; init => Set(ErrorFieldCode.Position, value); }

    public string? InternalPosition
    {
        get => this[ErrorFieldCode.InternalPosition];
        init => Set(ErrorFieldCode.InternalPosition, value);
    }

    public string? InternalQuery { get => this[ErrorFieldCode.InternalQuery]; init => Set(ErrorFieldCode.InternalQuery, value); }

    public string? Where { get => this[ErrorFieldCode.Where]; init => Set(ErrorFieldCode.Where, value); }

    public string? SchemaName { get => this[ErrorFieldCode.SchemaName]; init => Set(ErrorFieldCode.SchemaName, value); }

    public string? TableName { get => this[ErrorFieldCode.TableName]; init => Set(ErrorFieldCode.TableName, value); }

    public string? ColumnName { get => this[ErrorFieldCode.ColumnName]; init => Set(ErrorFieldCode.ColumnName, value); }

    public string? DataTypeName { get => this[ErrorFieldCode.DataTypeName]; init => Set(ErrorFieldCode.DataTypeName, value); }

    public string? ConstraintName
    {
        get => this[ErrorFieldCode.ConstraintName];
        init => Set(ErrorFieldCode.ConstraintName, value);
    }

    public string? File { get => this[ErrorFieldCode.File]; init => Set(ErrorFieldCode.File, value); }

    /// <summary>Decimal text, as sent.</summary>
    public string? Line { get => this[ErrorFieldCode.Line]; init => Set(ErrorFieldCode.Line, value); }

    public string? Routine { get => this[ErrorFieldCode.Routine]; init => Set(ErrorFieldCode.Routine, value); }

    /// <summary>Fields whose codes PostgreSQL does not document (yet).</summary>
    public IReadOnlyList<ErrorField> UnknownFields
    {
        get
        {
            var unknown = new List<ErrorField>();
            foreach (ErrorField entry in _fields)
            {
                if (!ErrorFieldCode.IsKnown(entry.Code))
                {
                    unknown.Add(entry);
                }
            }

            return unknown;
        }
    }

    /// <summary>The text of the field with this code, or null when absent.</summary>
    public string? this[byte code]
    {
        get
        {
            foreach (ErrorField entry in _fields)
            {
                if (entry.Code == code)
                {
                    return entry.Value;
                }
            }

            return null;
        }
    }

    /// <summary>The type byte this message is written with.</summary>
    protected abstract byte MessageType { get; }

    /// <summary>Adds or replaces a field; a null value removes it. Use for codes without a property.</summary>
    public void Set(byte code, string? value)
    {
        if (code == 0)
        {
            throw new ArgumentException("Field code 0 is the list terminator.", nameof(code));
        }

        int index = _fields.FindIndex(f => f.Code == code);
        if (value is null)
        {
            if (index >= 0)
            {
                _fields.RemoveAt(index);
            }
        }
        else if (index >= 0)
        {
            _fields[index] = new ErrorField(code, value);
        }
        else
        {
            _fields.Add(new ErrorField(code, value));
        }
    }

    public void WriteTo(IBufferWriter<byte> output)
    {
        int length = 1;
        foreach (ErrorField field in _fields)
        {
            length += 1 + MessageBuilder.CStringLength(field.Value);
        }

        var builder = MessageBuilder.Start(output, MessageType, length);
        foreach (ErrorField field in _fields)
        {
            builder.WriteByte(field.Code);
            builder.WriteCString(field.Value);
        }

        builder.WriteByte(0);
        builder.Commit();
    }

    /// <summary>"FATAL 28P01: password authentication failed for user "x"", for logs and exception messages.</summary>
    public override string ToString() =>
        $"{SeverityNonLocalized ?? Severity ?? "?"} {SqlState ?? "?????"}: {Message}";

    protected static void ReadFields(ErrorOrNotice target, ReadOnlySpan<byte> payload, string messageName)
    {
        var reader = new PayloadReader(payload, messageName);
        while (true)
        {
            byte code = reader.ReadByte("field code");
            if (code == 0)
            {
                break;
            }

            // Appended as read: repeated codes are kept so the message re-encodes unchanged.
            target._fields.Add(new ErrorField(code, reader.ReadCString("field value")));
        }

        reader.ExpectEnd();
    }
}

/// <summary>'E' from the server: the command failed (ERROR) or the session ends (FATAL, PANIC).</summary>
public sealed class ErrorResponse : ErrorOrNotice
{
    protected override byte MessageType => BackendMessageType.ErrorResponse;

    /// <summary>
    /// An error as a pooler should send one: both severity fields, the SQLSTATE and a message
    /// (invariant 2 of DESIGN.md: a proper ErrorResponse with a SQLSTATE).
    /// </summary>
    public static ErrorResponse Create(string severity, string sqlState, string message, string? detail = null, string? hint = null) =>
        new()
        {
            Severity = severity,
            SeverityNonLocalized = severity,
            SqlState = sqlState,
            Message = message,
            Detail = detail,
            Hint = hint,
        };

    public static ErrorResponse Read(ReadOnlySpan<byte> payload)
    {
        var response = new ErrorResponse();
        ReadFields(response, payload, nameof(ErrorResponse));
        return response;
    }
}

/// <summary>'N' from the server: a warning or notice; the command goes on.</summary>
public sealed class NoticeResponse : ErrorOrNotice
{
    protected override byte MessageType => BackendMessageType.NoticeResponse;

    public static NoticeResponse Create(string severity, string sqlState, string message) =>
        new() { Severity = severity, SeverityNonLocalized = severity, SqlState = sqlState, Message = message };

    public static NoticeResponse Read(ReadOnlySpan<byte> payload)
    {
        var notice = new NoticeResponse();
        ReadFields(notice, payload, nameof(NoticeResponse));
        return notice;
    }
}
