using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Pooler.Config;
using Pooler.Protocol;

namespace Pooler.Host;

/// <summary>
/// The client listener's per-connection handler. This build reads the startup phase (SSLRequest,
/// GSSENCRequest, CancelRequest, StartupMessage) and answers a client that wants a session with
/// a clear FATAL error, because pooling itself is not implemented yet. Malformed startup packets
/// get a protocol-violation error and the connection is closed.
/// </summary>
public sealed class ClientConnectionHandler(PoolerConfig config, ILogger<ClientConnectionHandler> logger)
    : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        using var login = new CancellationTokenSource(LoginTimeout(config.General.ClientLoginTimeout));
        try
        {
            while (true)
            {
                var frame = await ReadStartupAsync(input, login.Token);
                if (frame is null)
                    return;
                switch (frame.Value.Kind)
                {
                    case StartupRequestKind.SslRequest:
                    case StartupRequestKind.GssEncRequest:
                        // Encryption is not offered (yet): 'N' tells the client to go on in plain text.
                        await WriteAsync(output, static w => w.Write([SslRequest.Refuse]));
                        continue;
                    case StartupRequestKind.CancelRequest:
                        return;
                    case StartupRequestKind.Unsupported:
                        throw new ProtocolViolationException(
                            $"unsupported frontend protocol {frame.Value.Code >> 16}.{frame.Value.Code & 0xFFFF}: Pooler speaks protocol 3.0");
                    default:
                        var startup = StartupMessage.Read(frame.Value.Payload);
                        logger.LogInformation(
                            "client {Connection} from {Remote}: user={User} database={Database} refused: pooling is not implemented in this build",
                            connection.ConnectionId, connection.RemoteEndPoint, startup.User, startup.Database);
                        await WriteErrorAsync(output, SqlState.FeatureNotSupported,
                            $"pooler {PoolerProgram.Version} accepts connections but does not pool them yet; connect to PostgreSQL directly");
                        return;
                }
            }
        }
        catch (ProtocolViolationException e)
        {
            logger.LogWarning("client {Connection} from {Remote}: protocol violation: {Reason}",
                connection.ConnectionId, connection.RemoteEndPoint, e.Message);
            await WriteErrorAsync(output, SqlState.ProtocolViolation, e.Message);
        }
        catch (OperationCanceledException) when (login.IsCancellationRequested)
        {
            logger.LogInformation("client {Connection} from {Remote}: dropped, no startup packet within client_login_timeout",
                connection.ConnectionId, connection.RemoteEndPoint);
        }
        catch (ConnectionResetException)
        {
        }
    }

    // Zero means no limit, as in the configuration reference.
    private static TimeSpan LoginTimeout(TimeSpan configured) =>
        configured > TimeSpan.Zero ? configured : Timeout.InfiniteTimeSpan;

    private readonly record struct StartupPacket(StartupRequestKind Kind, int Code, byte[] Payload);

    /// <summary>Reads one startup-phase packet, or null when the client hung up first.</summary>
    private static async Task<StartupPacket?> ReadStartupAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await input.ReadAsync(cancellationToken);
            var buffer = read.Buffer;
            var status = StartupFrameScanner.TryReadFrame(buffer, StartupFrameScanner.DefaultMaxLength, out var frame);
            if (status == FrameStatus.Complete)
            {
                var packet = new StartupPacket(frame.Header.Kind, frame.Header.Code, frame.Payload.ToArray());
                input.AdvanceTo(frame.End);
                return packet;
            }
            if (status != FrameStatus.Incomplete)
                throw new ProtocolViolationException(
                    StartupFrameScanner.Describe(status, frame.Header, StartupFrameScanner.DefaultMaxLength));
            if (read.IsCompleted)
                return null;
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static async Task WriteErrorAsync(PipeWriter output, string sqlState, string message)
    {
        await WriteAsync(output, w => ErrorResponse.Create("FATAL", sqlState, message).WriteTo(w));
    }

    private static async Task WriteAsync(PipeWriter output, Action<IBufferWriter<byte>> write)
    {
        write(output);
        await output.FlushAsync();
    }
}
