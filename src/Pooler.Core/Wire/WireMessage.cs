using System.Buffers;
using System.IO.Pipelines;
using Pooler.Protocol;

namespace Pooler.Core.Wire;

/// <summary>One whole message copied out of a pipe: for the rare, low-volume paths (login, auth).</summary>
public readonly record struct WireMessage(byte Type, byte[] Payload);

/// <summary>
/// Reads and writes whole messages on pipes for the paths where a copy does not matter (startup,
/// authentication, pooler-generated errors). The forwarding path never uses these.
/// </summary>
public static class PipeMessages
{
    /// <summary>Reads one regular message; null when the peer closed the connection first.</summary>
    public static async ValueTask<WireMessage?> ReadAsync(PipeReader input, int maxLength, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await input.ReadAsync(cancellationToken);
            var buffer = read.Buffer;
            var status = FrameScanner.TryReadFrame(buffer, maxLength, out var frame);
            if (status == FrameStatus.Complete)
            {
                var message = new WireMessage(frame.Type, frame.Payload.ToArray());
                input.AdvanceTo(frame.End);
                return message;
            }
            if (status != FrameStatus.Incomplete)
            {
                input.AdvanceTo(buffer.Start);
                throw new ProtocolViolationException(FrameScanner.Describe(status, frame.Header, maxLength, "max_message_size"));
            }
            if (read.IsCompleted)
            {
                input.AdvanceTo(buffer.End);
                return null;
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Writes an ErrorResponse and flushes.</summary>
    public static ValueTask<FlushResult> WriteErrorAsync(PipeWriter output, string severity, string sqlState, string message,
        string? hint = null)
    {
        ErrorResponse.Create(severity, sqlState, message, hint: hint).WriteTo(output);
        return output.FlushAsync();
    }
}
