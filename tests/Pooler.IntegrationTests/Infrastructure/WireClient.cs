using System.Buffers;
using System.Net.Sockets;
using Pooler.Protocol;
using Pooler.Protocol.Auth;

namespace Pooler.IntegrationTests.Infrastructure;

/// <summary>One backend message as the client received it.</summary>
public sealed record BackendMessage(byte Type, byte[] Payload)
{
    public override string ToString() => $"{FrameScanner.TypeName(Type)} ({Payload.Length} bytes)";
}

/// <summary>What a simple Query produced, up to its ReadyForQuery.</summary>
public sealed class QueryResult
{
    public List<RowDescription> Descriptions { get; } = [];
    public List<DataRow> Rows { get; } = [];
    public List<string> CommandTags { get; } = [];
    public List<NoticeResponse> Notices { get; } = [];
    public ErrorResponse? Error { get; set; }
    public TransactionStatus Status { get; set; }

    public string? Text(int row, int column) => Rows[row].GetText(column);
}

/// <summary>What the server told a client that logged in.</summary>
public sealed record LoginResult(
    AuthenticationCode Method,
    IReadOnlyDictionary<string, string> Parameters,
    BackendKeyData? KeyData,
    TransactionStatus Status);

/// <summary>A login or query failed with an ErrorResponse from the server.</summary>
public sealed class ServerErrorException(ErrorResponse error) : Exception($"{error.SqlState}: {error.Message}")
{
    public ErrorResponse Error { get; } = error;
}

/// <summary>
/// A PostgreSQL client built on Pooler.Protocol alone (no Npgsql): it drives the codec and the
/// client-side authenticator over a real TCP socket, so tests see exactly what the codec does
/// against a real server or through Pooler.
/// </summary>
public sealed class WireClient : IAsyncDisposable
{
    private const int MaxMessage = 64 * 1024 * 1024;
    private readonly Socket _socket;
    private byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    private WireClient(Socket socket) => _socket = socket;

    public static async Task<WireClient> ConnectAsync(string host, int port)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(host, port);
        return new WireClient(socket);
    }

    /// <summary>Connects and logs in; an ErrorResponse during login throws <see cref="ServerErrorException"/>.</summary>
    public static async Task<(WireClient Client, LoginResult Login)> LoginAsync(
        string host, int port, string user, string password, string database)
    {
        var client = await ConnectAsync(host, port);
        try
        {
            return (client, await client.StartupAsync(user, password, database));
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    public async Task<LoginResult> StartupAsync(string user, string password, string database)
    {
        await SendAsync(w => StartupMessage.Create(user, database).WriteTo(w));
        var authenticator = new ClientAuthenticator(user, password);
        var parameters = new Dictionary<string, string>();
        BackendKeyData? keyData = null;
        while (true)
        {
            var message = await ReadMessageAsync();
            switch (message.Type)
            {
                case BackendMessageType.Authentication:
                    var reply = new ArrayBufferWriter<byte>();
                    authenticator.Handle(message.Payload, reply);
                    if (reply.WrittenCount > 0)
                        await SendRawAsync(reply.WrittenMemory);
                    break;
                case BackendMessageType.ParameterStatus:
                    var parameter = ParameterStatus.Read(message.Payload);
                    parameters[parameter.Name] = parameter.Value;
                    break;
                case BackendMessageType.BackendKeyData:
                    keyData = BackendKeyData.Read(message.Payload);
                    break;
                case BackendMessageType.ErrorResponse:
                    throw new ServerErrorException(ErrorResponse.Read(message.Payload));
                case BackendMessageType.NoticeResponse:
                    break;
                case BackendMessageType.ReadyForQuery:
                    return new LoginResult(authenticator.Method ?? AuthenticationCode.Ok, parameters, keyData,
                        ReadyForQuery.ReadStatus(message.Payload));
                default:
                    throw new InvalidOperationException($"unexpected {message} during login");
            }
        }
    }

    /// <summary>Sends a simple Query and collects everything up to ReadyForQuery.</summary>
    public async Task<QueryResult> QueryAsync(string sql)
    {
        await SendAsync(w => Query.Write(w, sql));
        return await ReadResultAsync();
    }

    /// <summary>Reads messages up to ReadyForQuery into a result (after a Query or a Sync).</summary>
    public async Task<QueryResult> ReadResultAsync()
    {
        var result = new QueryResult();
        while (true)
        {
            var message = await ReadMessageAsync();
            switch (message.Type)
            {
                case BackendMessageType.RowDescription:
                    result.Descriptions.Add(RowDescription.Read(message.Payload));
                    break;
                case BackendMessageType.DataRow:
                    result.Rows.Add(DataRow.Read(message.Payload));
                    break;
                case BackendMessageType.CommandComplete:
                    result.CommandTags.Add(CommandComplete.Read(message.Payload).Tag);
                    break;
                case BackendMessageType.ErrorResponse:
                    result.Error = ErrorResponse.Read(message.Payload);
                    break;
                case BackendMessageType.NoticeResponse:
                    result.Notices.Add(NoticeResponse.Read(message.Payload));
                    break;
                case BackendMessageType.ReadyForQuery:
                    result.Status = ReadyForQuery.ReadStatus(message.Payload);
                    return result;
            }
        }
    }

    public Task SendAsync(Action<IBufferWriter<byte>> write)
    {
        var writer = new ArrayBufferWriter<byte>();
        write(writer);
        return SendRawAsync(writer.WrittenMemory);
    }

    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await _socket.SendAsync(bytes);
            bytes = bytes[sent..];
        }
    }

    /// <summary>Reads one whole backend message, however the bytes were split on the wire.</summary>
    public async Task<BackendMessage> ReadMessageAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var input = new ReadOnlySequence<byte>(_buffer, _start, _end - _start);
            var status = FrameScanner.TryReadFrame(input, MaxMessage, out var frame);
            if (status == FrameStatus.Complete)
            {
                var message = new BackendMessage(frame.Type, frame.Payload.ToArray());
                _start += (int)frame.Header.FrameLength;
                return message;
            }
            if (status != FrameStatus.Incomplete)
                throw new ProtocolViolationException(FrameScanner.Describe(status, frame.Header, MaxMessage));
            await FillAsync(cancellationToken);
        }
    }

    /// <summary>Reads exactly <paramref name="target"/>.Length raw bytes (a one-byte SSL answer, say).</summary>
    public async Task ReceiveExactAsync(Memory<byte> target)
    {
        while (!target.IsEmpty)
        {
            if (_end == _start)
                await FillAsync(CancellationToken.None);
            var take = Math.Min(target.Length, _end - _start);
            _buffer.AsMemory(_start, take).CopyTo(target);
            _start += take;
            target = target[take..];
        }
    }

    /// <summary>True when the server has closed the connection (reads end of stream).</summary>
    public async Task<bool> IsClosedByServerAsync(CancellationToken cancellationToken = default)
    {
        if (_end > _start)
            return false;
        var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
        _end += read;
        return read == 0;
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
            Array.Resize(ref _buffer, _buffer.Length * 2);
        var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
        if (read == 0)
            throw new EndOfStreamException("the server closed the connection");
        _end += read;
    }

    /// <summary>
    /// Drops the connection the way a crashed client does: no Terminate, and a reset (RST) rather
    /// than an orderly close, because linger on with a zero timeout makes close send RST.
    /// </summary>
    public void Abort()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.Connected)
                await SendAsync(Terminate.Write);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        _socket.Dispose();
    }
}
