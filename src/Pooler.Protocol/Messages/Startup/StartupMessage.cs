using System.Buffers;

namespace Pooler.Protocol;

/// <summary>
/// The first packet of a normal connection: protocol version, then name/value pairs (user,
/// database, options, application_name, any GUC, _pq_.* protocol options), ended by an empty
/// name. Pairs keep their wire order; a repeated name is looked up by its last value, the one
/// that takes effect in PostgreSQL.
/// </summary>
public sealed class StartupMessage
{
    public const string UserParameter = "user";
    public const string DatabaseParameter = "database";
    public const string OptionsParameter = "options";
    public const string ApplicationNameParameter = "application_name";
    public const string ReplicationParameter = "replication";

    public StartupMessage(IEnumerable<KeyValuePair<string, string>> parameters, int protocolVersion = StartupCode.ProtocolVersion3_0)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = [.. parameters];
        ProtocolVersion = protocolVersion;
    }

    public int ProtocolVersion { get; }

    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; }

    /// <summary>Required by PostgreSQL; null only when a client left it out.</summary>
    public string? User => this[UserParameter];

    /// <summary>As sent; PostgreSQL uses the user name when it is absent.</summary>
    public string? Database => this[DatabaseParameter];

    public string? Options => this[OptionsParameter];

    public string? ApplicationName => this[ApplicationNameParameter];

    public string? this[string name]
    {
        get
        {
            for (int i = Parameters.Count - 1; i >= 0; i--)
            {
                if (Parameters[i].Key == name)
                {
                    return Parameters[i].Value;
                }
            }

            return null;
        }
    }

    /// <summary>A protocol 3.0 StartupMessage with user, database (when given) and any further parameters.</summary>
    public static StartupMessage Create(string user, string? database = null, IEnumerable<KeyValuePair<string, string>>? parameters = null)
    {
        var all = new List<KeyValuePair<string, string>> { new(UserParameter, user) };
        if (database is not null)
        {
            all.Add(new(DatabaseParameter, database));
        }

        if (parameters is not null)
        {
            all.AddRange(parameters);
        }

        return new StartupMessage(all);
    }

    /// <summary>Reads the payload after the length field (it starts with the protocol version).</summary>
    public static StartupMessage Read(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload, nameof(StartupMessage));
        int version = reader.ReadInt32("protocol version");
        if (StartupCode.MajorVersion(version) != 3)
        {
            throw reader.Violation(
                $"unsupported protocol version {StartupCode.MajorVersion(version)}.{StartupCode.MinorVersion(version)}");
        }

        var parameters = new List<KeyValuePair<string, string>>();
        while (true)
        {
            string name = reader.ReadCString("parameter name");
            if (name.Length == 0)
            {
                break;
            }

            parameters.Add(new(name, reader.ReadCString($"value of parameter \"{name}\"")));
        }

        reader.ExpectEnd();
        return new StartupMessage(parameters, version);
    }

    public void WriteTo(IBufferWriter<byte> output)
    {
        int length = 4 + 1;
        foreach (KeyValuePair<string, string> p in Parameters)
        {
            if (p.Key.Length == 0)
            {
                throw new InvalidOperationException("A startup parameter name cannot be empty: it would end the list.");
            }

            length += MessageBuilder.CStringLength(p.Key) + MessageBuilder.CStringLength(p.Value);
        }

        var builder = MessageBuilder.StartUntyped(output, length);
        builder.WriteInt32(ProtocolVersion);
        foreach (KeyValuePair<string, string> p in Parameters)
        {
            builder.WriteCString(p.Key);
            builder.WriteCString(p.Value);
        }

        builder.WriteByte(0);
        builder.Commit();
    }
}
