using System.Security.Cryptography;
using System.Text;
using Pooler.Core.Servers;

namespace Pooler.Core.Clients;

/// <summary>
/// A named statement a client prepared (protocol Parse) in transaction or statement mode: the
/// name the server knows it by and what it takes to prepare it again on another connection.
/// </summary>
public sealed class PreparedStatement
{
    /// <summary>Prefix of every name Pooler gives a statement on a server connection.</summary>
    public const string ServerNamePrefix = "pooler_";

    private PreparedStatement(string serverName, byte[] body)
    {
        ServerName = serverName;
        ServerNameBytes = Encoding.ASCII.GetBytes(serverName);
        Body = body;
    }

    /// <summary>
    /// The server-side name: a hash of the statement's text and parameter types (and the client's
    /// search_path, which decides what the names in the text mean), so clients that prepare the same
    /// statement share one server statement.
    /// </summary>
    public string ServerName { get; }

    public byte[] ServerNameBytes { get; }

    /// <summary>The Parse payload after the statement name: query text, parameter count and types.</summary>
    public byte[] Body { get; }

    public static PreparedStatement Create(ReadOnlySpan<byte> body, string? searchPath)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        if (!string.IsNullOrEmpty(searchPath))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(searchPath));
            hash.AppendData([0]);
        }
        hash.AppendData(body);
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return new PreparedStatement(ServerNamePrefix + Convert.ToHexStringLower(digest[..8]), body.ToArray());
    }

    public bool SameBody(ReadOnlySpan<byte> body) => body.SequenceEqual(Body);
}

/// <summary>A client's named prepared statements by the names it gave them.</summary>
public sealed class ClientStatements
{
    private readonly Dictionary<string, PreparedStatement> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PreparedStatement>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    public ClientStatements() => _bySpan = _byName.GetAlternateLookup<ReadOnlySpan<char>>();

    public int Count => _byName.Count;

    /// <summary>Looks a name up straight from the message bytes (no string per Bind).</summary>
    public PreparedStatement? Find(ReadOnlySpan<byte> utf8Name)
    {
        Span<char> name = utf8Name.Length <= 256 ? stackalloc char[utf8Name.Length] : new char[utf8Name.Length];
        var length = Encoding.UTF8.GetChars(utf8Name, name);
        return _bySpan.TryGetValue(name[..length], out var statement) ? statement : null;
    }

    public PreparedStatement? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Sets <paramref name="name"/> to <paramref name="statement"/> (null: removes it).</summary>
    public void Set(string name, PreparedStatement? statement)
    {
        if (statement is null)
            _byName.Remove(name);
        else
            _byName[name] = statement;
    }

    public void Clear() => _byName.Clear();
}

/// <summary>
/// One ParseComplete or CloseComplete the server owes for a message written to it, and what to undo
/// if the server skips that message (an earlier error in the same batch) instead of answering it.
/// </summary>
internal readonly record struct StatementFixup(byte Expect, StatementResponse Action, long ReadyAt)
{
    public string? AddedOnServer { get; init; }
    public string? RemovedFromServer { get; init; }
    public string? ClientName { get; init; }
    public PreparedStatement? ClientBefore { get; init; }

    /// <summary>An answer passed on as it is, with nothing to undo (an unnamed statement's, a portal's).</summary>
    public bool IsPlain => Action == StatementResponse.Forward && AddedOnServer is null && RemovedFromServer is null &&
                           ClientName is null && ClientBefore is null;
}

/// <summary>
/// A lease's bookkeeping for prepared statements: the ParseComplete/CloseComplete answers still to
/// come, in the order the server will send them. A message the server skips after an error leaves
/// its entry behind; the ReadyForQuery that ends the batch removes such entries and undoes what
/// they registered, so a failed Parse leaves nothing half-registered.
/// </summary>
/// <remarks>
/// Plain answers of one kind in one batch in a row are one entry with a count, and the oldest
/// entry is held in a field: the common lease (an unnamed Parse per batch) allocates nothing here.
/// </remarks>
internal sealed class StatementTracker(ServerStatements server, ClientStatements client, long leaseStamp, int capacity)
{
    private struct Owed
    {
        public StatementFixup Fixup;
        public int Times; // how many answers in a row this entry stands for (plain ones only run above 1)
    }

    private Owed _oldest;   // Times == 0: nothing is owed (and _later is empty)
    private Owed[]? _later; // a ring of the entries after the oldest
    private int _laterStart;
    private int _laterCount;
    private long _ready;    // ReadyForQuery messages seen during the lease

    public ServerStatements Server { get; private set; } = server;
    public ClientStatements Client { get; } = client;
    public long LeaseStamp { get; private set; } = leaseStamp;

    /// <summary>Starts over for the session's next lease (its lease object is renewed, see ClientLease.TryRenew).</summary>
    public void Renew(ServerStatements server, long leaseStamp)
    {
        Server = server;
        LeaseStamp = leaseStamp;
        _oldest = default;
        if (_later is not null)
            Array.Clear(_later);
        _laterStart = _laterCount = 0;
        _ready = 0;
    }

    /// <summary>prepared_statements_cache_size: statements per server connection.</summary>
    public int Capacity { get; } = capacity;

    /// <summary>The ReadyForQuery count at which a message written now has been answered (or skipped).</summary>
    public long ReadyAt(int pending) => _ready + pending;

    public void Expect(in StatementFixup fixup)
    {
        if (_oldest.Times == 0)
        {
            _oldest = new Owed { Fixup = fixup, Times = 1 };
            return;
        }
        ref var newest = ref _laterCount == 0 ? ref _oldest : ref _later![(_laterStart + _laterCount - 1) % _later.Length];
        if (fixup.IsPlain && newest.Fixup.IsPlain && newest.Fixup.Expect == fixup.Expect && newest.Fixup.ReadyAt == fixup.ReadyAt)
        {
            newest.Times++;
            return;
        }
        if (_later is null || _laterCount == _later.Length)
            GrowLater();
        _later![(_laterStart + _laterCount) % _later.Length] = new Owed { Fixup = fixup, Times = 1 };
        _laterCount++;
    }

    private void GrowLater()
    {
        var grown = new Owed[Math.Max(4, (_later?.Length ?? 0) * 2)];
        for (var i = 0; i < _laterCount; i++)
            grown[i] = _later![(_laterStart + i) % _later.Length];
        _later = grown;
        _laterStart = 0;
    }

    /// <summary>Server side: a ParseComplete or CloseComplete arrived.</summary>
    public StatementResponse OnResponse(byte type)
    {
        if (_oldest.Times == 0 || _oldest.Fixup.Expect != type)
            return StatementResponse.Forward; // not one of ours (cannot happen while every Parse and Close is tracked)
        var action = _oldest.Fixup.Action;
        if (--_oldest.Times == 0)
            DropOldest();
        return action;
    }

    /// <summary>
    /// Server side: takes the answer as <see cref="OnResponse"/> would when that is to pass it on
    /// as it is; false (and nothing taken) when it is to be dropped or replaced.
    /// </summary>
    public bool TryForward(byte type)
    {
        if (_oldest.Times > 0 && _oldest.Fixup.Expect == type && _oldest.Fixup.Action != StatementResponse.Forward)
            return false;
        OnResponse(type);
        return true;
    }

    private void DropOldest()
    {
        if (_laterCount == 0)
        {
            _oldest = default;
            return;
        }
        _oldest = _later![_laterStart];
        _later[_laterStart] = default;
        _laterStart = (_laterStart + 1) % _later.Length;
        _laterCount--;
    }

    /// <summary>Server side: a ReadyForQuery ended a batch; whatever it skipped is undone.</summary>
    public void OnReady()
    {
        _ready++;
        List<StatementFixup>? skipped = null;
        while (_oldest.Times > 0 && _oldest.Fixup.ReadyAt < _ready)
        {
            if (!_oldest.Fixup.IsPlain)
                (skipped ??= []).Add(_oldest.Fixup);
            DropOldest();
        }
        // Latest first, so a Parse and a Close of one name in the same failed batch unwind in order.
        for (var i = (skipped?.Count ?? 0) - 1; i >= 0; i--)
            Undo(skipped![i]);
    }

    private void Undo(in StatementFixup skipped)
    {
        if (skipped.AddedOnServer is { } added)
            Server.Remove(added);
        if (skipped.RemovedFromServer is { } removed)
            Server.Add(removed, LeaseStamp);
        if (skipped.ClientName is { } name)
            Client.Set(name, skipped.ClientBefore);
    }
}
