using System.Buffers;
using System.IO.Pipelines;
using Pooler.Protocol;

namespace Pooler.Core.Servers;

/// <summary>An internal query (reset, SET) failed on the server.</summary>
public sealed class ServerQueryException(string message) : Exception(message);

public sealed partial class ServerConnection
{
    private long _parameterVersion;

    /// <summary>Counts the ParameterStatus messages received, so a lease can tell whether any arrived.</summary>
    public long ParameterVersion => Interlocked.Read(ref _parameterVersion);

    /// <summary>Settings Pooler has SET on this connection that the server does not report back.</summary>
    public Dictionary<string, string> AppliedSettings { get; } = new(StringComparer.OrdinalIgnoreCase);

    private string? _settingsKey;
    private long _settingsVersion;

    /// <summary>
    /// Whether the last session to prepare this connection wanted exactly the settings named by
    /// <paramref name="key"/>, and the server has reported no change since: then there is nothing
    /// to compare or set, the common case when a pool's clients connect alike.
    /// </summary>
    public bool HasSettings(string key) => _settingsKey == key && _settingsVersion == ParameterVersion;

    /// <summary>Records whose settings this connection now has (null: unknown, check them next time).</summary>
    public void MarkSettings(string? key)
    {
        _settingsKey = key;
        _settingsVersion = ParameterVersion;
    }

    /// <summary>
    /// Runs a query for the pooler itself (server_reset_query, SET of a client's settings, a lag
    /// check): returns the first column of its first row, if any, as text; an ErrorResponse in the
    /// answer throws <see cref="ServerQueryException"/>.
    /// </summary>
    public async Task<string?> RunInternalAsync(string sql, CancellationToken cancellationToken)
    {
        var sink = new InternalSink();
        Attach(sink);
        Query.Write(Output, sql);
        await Output.FlushAsync(cancellationToken);
        await sink.Completion.WaitAsync(cancellationToken);
        return sink.FirstValue;
    }

    /// <summary>Collects an internal query's answer; small by construction (SET, DISCARD, ROLLBACK).</summary>
    private sealed class InternalSink : IServerSink
    {
        private readonly ArrayBufferWriter<byte> _answer = new();
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Completion => _completion.Task;

        public string? FirstValue { get; private set; }

        public void Write(in ReadOnlySequence<byte> bytes)
        {
            foreach (var segment in bytes)
                _answer.Write(segment.Span);
        }

        public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken) => default;

        public ReadyAction OnReadyForQuery(TransactionStatus status) => ReadyAction.ForwardAndRelease;

        public void OnReleased(ValueTask<FlushResult> lastFlush)
        {
            var error = FindError(_answer.WrittenSpan);
            FirstValue = FindFirstValue(_answer.WrittenSpan);
            if (error is null)
                _completion.TrySetResult();
            else
                _completion.TrySetException(new ServerQueryException($"{error.SqlState}: {error.Message}"));
        }

        public void OnRefused() => OnReleased(default);

        public void OnServerLost(string reason) => _completion.TrySetException(new ServerQueryException(reason));

        private static string? FindFirstValue(ReadOnlySpan<byte> answer)
        {
            while (FrameScanner.TryReadFrame(answer, int.MaxValue, out var header, out var payload) == FrameStatus.Complete)
            {
                if (header.Type == BackendMessageType.DataRow)
                    return DataRow.Read(payload).GetText(0);
                answer = answer[(int)header.FrameLength..];
            }
            return null;
        }

        private static ErrorResponse? FindError(ReadOnlySpan<byte> answer)
        {
            while (FrameScanner.TryReadFrame(answer, int.MaxValue, out var header, out var payload) == FrameStatus.Complete)
            {
                if (header.Type == BackendMessageType.ErrorResponse)
                    return ErrorResponse.Read(payload);
                answer = answer[(int)header.FrameLength..];
            }
            return null;
        }
    }
}
