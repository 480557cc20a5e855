using System.IO.Pipelines;
using Pooler.Core.Wire;
using Pooler.Protocol;

namespace Pooler.Core.Admin;

/// <summary>
/// PgBouncer's admin console: SHOW POOLS, PAUSE and the rest, over the simple and the extended
/// query protocol (psql uses one, Npgsql the other), plus Pooler's cluster views. The client has
/// logged in already; this serves it until it leaves.
/// </summary>
/// <param name="maxMessageSize">The largest message the client may send (max_message_size).</param>
public sealed class AdminConsole(IAdminBackend backend, int maxMessageSize)
{
    /// <summary>
    /// Serves admin commands until the client sends Terminate or disconnects, or
    /// <paramref name="cancellationToken"/> fires (then it returns quietly; the caller says goodbye).
    /// The pipes stay open: the caller owns them.
    /// </summary>
    public async Task RunAsync(PipeReader input, PipeWriter output, CancellationToken cancellationToken)
    {
        // One session per call: statements and portals belong to one connection.
        var session = new ConsoleSession(new CommandRunner(backend), output);
        try
        {
            while (await PipeMessages.ReadAsync(input, maxMessageSize, cancellationToken) is { } message)
            {
                if (!await session.HandleAsync(message, cancellationToken))
                    return;
            }
        }
        catch (ProtocolViolationException e)
        {
            // A malformed or oversized message leaves us out of step with the stream: say why and end.
            await PipeMessages.WriteErrorAsync(output, ErrorSeverity.Fatal, SqlState.ProtocolViolation, e.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
