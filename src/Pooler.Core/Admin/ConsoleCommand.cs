using System.Buffers;
using Pooler.Protocol;

namespace Pooler.Core.Admin;

/// <summary>
/// One admin console command, parsed (<see cref="CommandParser"/>). Its columns are known from the text alone, so a Describe
/// is answered without running it (a described PAUSE pauses nothing until it is executed).
/// </summary>
/// <param name="Tag">The CommandComplete tag: "SHOW", or the command word.</param>
internal abstract record ConsoleCommand(string Tag)
{
    /// <summary>The columns of its rows; empty when it returns none (Describe answers NoData).</summary>
    public virtual IReadOnlyList<FieldDescription> Columns => [];
}

/// <summary>SHOW &lt;table&gt;, or SHOW CLUSTER &lt;table&gt;: the same table for every node, with a first column naming it.</summary>
internal sealed record ShowCommand(ShowTable Table, bool ClusterWide) : ConsoleCommand("SHOW")
{
    public override IReadOnlyList<FieldDescription> Columns { get; } = AdminTables.ColumnsOf(Table, ClusterWide);
}

/// <summary>SHOW HELP: a notice listing the commands, no rows (as PgBouncer).</summary>
internal sealed record ShowHelpCommand() : ConsoleCommand("SHOW");

/// <summary>PAUSE, RESUME, RECONNECT, KILL, DISABLE, ENABLE, RELOAD, SHUTDOWN: run by the backend.</summary>
/// <param name="Database">The pool it applies to; null for all.</param>
internal sealed record BackendCommand(AdminCommand Command, string? Database, string Tag) : ConsoleCommand(Tag);

/// <summary>SET anything: drivers send these on connect; accepted and ignored.</summary>
internal sealed record SetCommand() : ConsoleCommand("SET");

/// <summary>An empty statement (a Parse of ""): answered with EmptyQueryResponse.</summary>
internal sealed record EmptyCommand() : ConsoleCommand("");

/// <summary>Text that is no console command; running it gives its error.</summary>
internal sealed record InvalidCommand(ConsoleError Error) : ConsoleCommand("");

/// <summary>An error to show the admin; the console goes on (severity ERROR).</summary>
internal sealed record ConsoleError(string SqlState, string Message, string? Hint = null)
{
    public void WriteTo(IBufferWriter<byte> output) =>
        ErrorResponse.Create(ErrorSeverity.Error, SqlState, Message, hint: Hint).WriteTo(output);
}
