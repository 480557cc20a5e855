using System.Collections.Frozen;

namespace Pooler.Core.Routing;

/// <summary>
/// Built-in functions that make a SELECT calling them a write: they change data or server state,
/// take locks, or read session state that only the primary has. A call is the function's name
/// (unquoted, any case; or double-quoted in lower case, as PostgreSQL folds names) followed by
/// <c>(</c>, with or without a schema before it (<c>pg_catalog.nextval(</c>).
/// </summary>
internal static class SideEffectFunctions
{
    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> Names = new[]
    {
        // Sequences: nextval/setval change them; currval/lastval read this session's last nextval.
        "nextval", "setval", "currval", "lastval",

        // Assigning a transaction id needs a writable server.
        "txid_current", "pg_current_xact_id",

        // Session settings and notifications belong with the session's other statements.
        "set_config", "pg_notify",

        // Large objects (besides the lo_ family).
        "loread", "lowrite",

        // Replication and WAL control.
        "pg_switch_wal", "pg_create_restore_point", "pg_logical_emit_message",
        "pg_create_physical_replication_slot", "pg_create_logical_replication_slot",
        "pg_drop_replication_slot", "pg_replication_slot_advance",
        "pg_logical_slot_get_changes", "pg_logical_slot_get_binary_changes",

        // Runs any statement on another server.
        "dblink_exec",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>
    /// Whole families: advisory locks (pg_advisory_lock, pg_try_advisory_xact_lock_shared,
    /// pg_advisory_unlock_all ...) and large objects (lo_create, lo_import, lo_unlink, lo_put ...).
    /// </summary>
    private static readonly string[] Prefixes = ["pg_advisory_", "pg_try_advisory_", "lo_"];

    /// <summary>Whether the token before a <c>(</c> names one of these functions.</summary>
    public static bool IsCall(SqlToken nameToken, ReadOnlySpan<char> text)
    {
        if (nameToken.Kind == SqlTokenKind.QuotedIdentifier && text.Length > 2)
        {
            // "NextVal" is another function than nextval; "nextval" is the same one.
            var name = text[1..^1];
            return !ContainsUpper(name) && IsListed(name);
        }
        return nameToken.Kind == SqlTokenKind.Word && text.Length > 0 && IsListed(text);
    }

    private static bool IsListed(ReadOnlySpan<char> name)
    {
        if (Names.Contains(name))
            return true;
        foreach (var prefix in Prefixes)
        {
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    private static bool ContainsUpper(ReadOnlySpan<char> name)
    {
        foreach (char c in name)
        {
            if (char.IsUpper(c))
                return true;
        }
        return false;
    }
}
