using System.IO.Pipelines;
using Pooler.Core.Admin;
using Pooler.Core.Wire;
using Pooler.Protocol;
using Xunit;

namespace Pooler.Core.Tests.Admin;

/// <summary>
/// A logged-in admin client talking to an <see cref="AdminConsole"/> over a pair of in-memory
/// pipes standing in for the socket. Every read gives up after ten seconds, so a console that
/// stops answering fails the test instead of hanging it.
/// </summary>
internal sealed class ConsoleClient : IDisposable
{
    private const int MaxMessageSize = 1 << 16;

    private readonly Pipe _toConsole = new();
    private readonly Pipe _fromConsole = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(10));

    public ConsoleClient(IAdminBackend backend, CancellationToken consoleToken = default)
    {
        Running = new AdminConsole(backend, MaxMessageSize).RunAsync(_toConsole.Reader, _fromConsole.Writer, consoleToken);
    }

    /// <summary>The console's RunAsync.</summary>
    public Task Running { get; }

    public async Task SendAsync(params Action<PipeWriter>[] messages)
    {
        foreach (var write in messages)
            write(_toConsole.Writer);
        await _toConsole.Writer.FlushAsync(_timeout.Token);
    }

    /// <summary>Closes the client's side, as a dropped socket does.</summary>
    public ValueTask DisconnectAsync() => _toConsole.Writer.CompleteAsync();

    public async Task<WireMessage> ReadAsync()
    {
        var message = await PipeMessages.ReadAsync(_fromConsole.Reader, MaxMessageSize, _timeout.Token);
        Assert.NotNull(message);
        return message.Value;
    }

    /// <summary>Everything up to and including the next ReadyForQuery.</summary>
    public async Task<List<WireMessage>> ReadUntilReadyAsync()
    {
        var messages = new List<WireMessage>();
        do
            messages.Add(await ReadAsync());
        while (messages[^1].Type != BackendMessageType.ReadyForQuery);
        return messages;
    }

    /// <summary>Sends a simple Query and reads its answer.</summary>
    public async Task<List<WireMessage>> QueryAsync(string sql)
    {
        await SendAsync(output => Query.Write(output, sql));
        return await ReadUntilReadyAsync();
    }

    /// <summary>Runs one command that must succeed; its columns and rows in text.</summary>
    public async Task<Table> ShowAsync(string sql)
    {
        var messages = await QueryAsync(sql);
        Assert.Matches("^TD*CZ$", Wire.Types(messages));
        return Wire.Table(messages);
    }

    /// <summary>The console has returned (within the timeout).</summary>
    public Task AssertEndedAsync() => Running.WaitAsync(_timeout.Token);

    public void Dispose()
    {
        _toConsole.Writer.Complete();
        _timeout.Dispose();
    }
}

/// <summary>A result read back: its columns and its rows.</summary>
internal sealed record Table(RowDescription Description, List<DataRow> Rows)
{
    /// <summary>"name:oid name:oid …", the way the expected columns are written down.</summary>
    public string Columns => string.Join(" ", Description.Fields.Select(f => $"{f.Name}:{f.TypeOid}"));

    public int Column(string name) =>
        Description.Fields.Select((f, i) => (f.Name, i)).Single(c => c.Name == name).i;

    /// <summary>The text of one cell, in the first row whose first column is <paramref name="key"/>.</summary>
    public string? Cell(string key, string column) =>
        Rows.First(r => r.GetText(0) == key).GetText(Column(column));
}

/// <summary>Reading the console's answers.</summary>
internal static class Wire
{
    /// <summary>The messages' type bytes as a string, e.g. "TDDCZ": the shape of an answer at a glance.</summary>
    public static string Types(IEnumerable<WireMessage> messages) => new(messages.Select(m => (char)m.Type).ToArray());

    public static Table Table(List<WireMessage> messages) => new(
        RowDescription.Read(messages.First(m => m.Type == BackendMessageType.RowDescription).Payload),
        messages.Where(m => m.Type == BackendMessageType.DataRow).Select(m => DataRow.Read(m.Payload)).ToList());

    public static ErrorResponse Error(List<WireMessage> messages) =>
        ErrorResponse.Read(messages.Single(m => m.Type == BackendMessageType.ErrorResponse).Payload);

    public static List<string> Tags(List<WireMessage> messages) => messages
        .Where(m => m.Type == BackendMessageType.CommandComplete)
        .Select(m => CommandComplete.Read(m.Payload).Tag)
        .ToList();
}
