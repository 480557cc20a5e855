using System.Buffers;
using System.Text;
using Pooler.Config;
using Pooler.Core.Pools;
using Pooler.Core.Routing;
using Pooler.Core.Wire;
using Pooler.Protocol;
using Microsoft.Extensions.Logging;

namespace Pooler.Core.Clients;

/// <summary>
/// Where a transaction goes when the pool has more than one server (PgCat's routing): the shard
/// (SET SHARD, SET SHARDING KEY, a <c>/* shard: n */</c> or <c>/* sharding_key: k */</c> comment,
/// else default_shard), then the role (SET SERVER ROLE, a <c>/* role: primary */</c> comment, the
/// query parser's read/write split, else default_role), then a server of that shard and role that is
/// not banned, by load_balancing_mode. Decided once per transaction, from its first message.
/// </summary>
public sealed partial class ClientSession
{
    /// <summary>The first message of a transaction is read whole up to this size to route it.</summary>
    private const int RouteInspectLimit = 8 * 1024;

    private UserRoutes? _routes;
    private ServerRoleSetting _roleSetting = ServerRoleSetting.Default;
    private PrimaryReadsSetting _primaryReadsSetting = PrimaryReadsSetting.Default;
    private int? _shardSetting;      // SET SHARD
    private string? _shardingKey;    // SET SHARDING KEY
    private RouteServer? _nextRoute; // chosen for the transaction about to start
    private string? _routeProblem;   // why no server could be chosen
    private (int Shard, RoleWanted Role, bool PrimaryReads) _routeWanted; // what the transaction needs, to choose again

    /// <summary>Called with the pool's servers for this user once the pool is found on this node.</summary>
    private void UseRoutes(UserRoutes? routes)
    {
        _routes = routes;
        _desk = routes is null ? null : (routes.Only ?? routes.Shards[0][0]).Desk;
    }

    /// <summary>The server this checkout goes to: the pool's only one, or the one chosen for the transaction.</summary>
    private RouteServer? RouteForCheckout() => _routes is null ? null : _routes.Only ?? _nextRoute;

    /// <summary>The desk a server connection came from (and goes back to).</summary>
    private ServerDesk? DeskOf(Servers.ServerConnection server) =>
        _routes?.Find(server.Target.Shard, server.Target.Index)?.Desk ?? _desk;

    /// <summary>Whether the first message must be read whole before a server is chosen.</summary>
    private bool NeedsWholeFirstMessage(in FrameHeader header, long available) =>
        header.Type is FrontendMessageType.Query or FrontendMessageType.Parse &&
        header.FrameLength <= RouteInspectLimit && available < header.FrameLength;

    /// <summary>
    /// A SET/SHOW routing command as a transaction's first message (no server is held): answered
    /// here, as a simple query or as an extended-protocol batch (Parse, Bind, Describe, Execute, up
    /// to its Sync: Npgsql and psycopg send it that way). <c>Answered</c>: it was one, and
    /// <c>Consumed</c> bytes are taken; <c>NeedMore</c>: it may be one, and the rest of it has not
    /// arrived yet.
    /// </summary>
    private async ValueTask<(bool Answered, bool NeedMore, long Consumed)> TryAnswerRoutingCommandAsync(
        ReadOnlySequence<byte> rest, FrameHeader header)
    {
        if (header.Type is not (FrontendMessageType.Query or FrontendMessageType.Parse) || header.FrameLength > RouteInspectLimit)
            return (false, false, 0);
        if (rest.Length < header.FrameLength)
            return (false, true, 0);
        var payload = rest.Slice(FrameScanner.HeaderLength, header.PayloadLength);
        var reader = new SequenceReader<byte>(payload);
        if (header.Type == FrontendMessageType.Parse && !reader.TryAdvanceTo(0))
            return (false, false, 0);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> text, 0) || !LooksLikeSetOrShow(text))
            return (false, false, 0);
        if (RoutingCommandParser.Parse(Encoding.UTF8.GetString(text)) is not { } command)
            return (false, false, 0);
        long consumed;
        if (header.Type == FrontendMessageType.Query)
        {
            Apply(command);
            WriteResult(command, describe: true);
            consumed = header.FrameLength;
        }
        else if (AnswerBatch(rest, command) is { } length)
            consumed = length;
        else
            return (false, true, 0); // the batch's Sync has not arrived yet
        ReadyForQuery.Write(Output, TransactionStatus.Idle);
        await Output.FlushAsync(_closing.Token);
        return (true, false, consumed);
    }

    /// <summary>
    /// Answers an extended-protocol batch that runs a routing command, message by message up to
    /// its Sync (not written: the caller ends with ReadyForQuery). Null when the Sync is not here yet.
    /// </summary>
    private long? AnswerBatch(in ReadOnlySequence<byte> rest, RoutingCommand command)
    {
        // First make sure the whole batch is here, so nothing is answered twice.
        var scan = rest;
        long length = 0;
        while (true)
        {
            if (FrameScanner.TryReadHeader(scan, General.MaxMessageSize, out var header) != FrameStatus.Complete ||
                scan.Length < header.FrameLength)
                return null;
            length += header.FrameLength;
            scan = scan.Slice(header.FrameLength);
            if (header.Type == FrontendMessageType.Sync)
                break;
        }
        var failed = false;
        var messages = rest.Slice(0, length);
        while (!messages.IsEmpty)
        {
            FrameScanner.TryReadHeader(messages, General.MaxMessageSize, out var header);
            var kind = header.PayloadLength > 0 ? messages.Slice(FrameScanner.HeaderLength, 1).FirstSpan[0] : (byte)0;
            messages = messages.Slice(header.FrameLength);
            if (failed && header.Type != FrontendMessageType.Sync)
                continue; // after an error PostgreSQL skips to the Sync; so do we
            switch (header.Type)
            {
                case FrontendMessageType.Parse:
                    ParseComplete.Write(Output);
                    break;
                case FrontendMessageType.Bind:
                    BindComplete.Write(Output);
                    break;
                case FrontendMessageType.Close:
                    CloseComplete.Write(Output);
                    break;
                case FrontendMessageType.Describe:
                    if (kind == (byte)'S')
                        new ParameterDescription([]).WriteTo(Output);
                    if (command is ShowServerRole or ShowShard or ShowPrimaryReads)
                        new RowDescription([FieldDescription.Text(ShowColumn(command))]).WriteTo(Output);
                    else
                        NoData.Write(Output);
                    break;
                case FrontendMessageType.Execute:
                    Apply(command);
                    WriteResult(command, describe: false);
                    failed = command is InvalidRoutingCommand;
                    break;
            }
        }
        return length;
    }

    /// <summary>
    /// The quick look on every transaction's first message: a routing command is a Query or a Parse
    /// whose text starts with SET/SHOW (or a comment). Most transactions stop here.
    /// </summary>
    private static bool MayBeRoutingCommand(in ReadOnlySequence<byte> rest, in FrameHeader header)
    {
        if (header.Type is not (FrontendMessageType.Query or FrontendMessageType.Parse) || header.FrameLength > RouteInspectLimit)
            return false;
        var start = rest.FirstSpan;
        if (start.Length < FrameScanner.HeaderLength + 1)
            return true; // too little here to tell: the full check waits for the rest
        var text = start[FrameScanner.HeaderLength..];
        if (header.Type == FrontendMessageType.Parse)
        {
            var nameEnd = text.IndexOf((byte)0);
            if (nameEnd < 0 || nameEnd + 1 >= text.Length)
                return true;
            text = text[(nameEnd + 1)..];
        }
        var i = 0;
        while (i < text.Length && text[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
            i++;
        if (i + 3 > text.Length)
            return true;
        if (text[i] is (byte)'/' or (byte)'-')
            return true; // a comment first: the parser decides
        var (a, b, c) = (text[i] | 0x20, text[i + 1] | 0x20, text[i + 2] | 0x20);
        return a == 's' && ((b == 'e' && c == 't') || (b == 'h' && c == 'o'));
    }

    private static bool LooksLikeSetOrShow(in ReadOnlySequence<byte> text)
    {
        Span<byte> start = stackalloc byte[3];
        var reader = new SequenceReader<byte>(text);
        while (reader.TryPeek(out var b) && b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
            reader.Advance(1);
        if (reader.TryPeek(out var first) && first is (byte)'/' or (byte)'-')
            return true; // a comment first: let the parser look
        if (!reader.TryCopyTo(start))
            return false;
        return (start[0] | 0x20) == 's' && (((start[1] | 0x20) == 'e' && (start[2] | 0x20) == 't') ||
                                           ((start[1] | 0x20) == 'h' && (start[2] | 0x20) == 'o'));
    }

    /// <summary>What a routing command changes for this session's next transactions.</summary>
    private void Apply(RoutingCommand command)
    {
        switch (command)
        {
            case SetServerRole set:
                _roleSetting = set.Role;
                break;
            case SetShard set:
                _shardSetting = set.Index;
                _shardingKey = null;
                break;
            case SetShardingKey set:
                _shardingKey = set.Key;
                _shardSetting = null;
                break;
            case SetPrimaryReads set:
                _primaryReadsSetting = set.Setting;
                break;
        }
    }

    /// <summary>The command's answer: CommandComplete for a SET, the value for a SHOW, an error for a bad one.</summary>
    private void WriteResult(RoutingCommand command, bool describe)
    {
        switch (command)
        {
            case ShowServerRole or ShowShard or ShowPrimaryReads:
                if (describe)
                    new RowDescription([FieldDescription.Text(ShowColumn(command))]).WriteTo(Output);
                DataRow.WriteText(Output, ShowValue(command));
                new CommandComplete("SHOW").WriteTo(Output);
                break;
            case InvalidRoutingCommand invalid:
                ErrorResponse.Create(ErrorSeverity.Error, invalid.SqlState, invalid.Message).WriteTo(Output);
                break;
            default:
                new CommandComplete("SET").WriteTo(Output);
                break;
        }
    }

    private static string ShowColumn(RoutingCommand command) => command switch
    {
        ShowServerRole => "server role",
        ShowShard => "shard",
        _ => "primary reads",
    };

    private string ShowValue(RoutingCommand command) => command switch
    {
        ShowServerRole => _roleSetting.ToString().ToLowerInvariant(),
        ShowShard => DescribeShard(),
        _ => (_primaryReadsSetting == PrimaryReadsSetting.Default
            ? _poolConfig?.PrimaryReadsEnabled == true
            : _primaryReadsSetting == PrimaryReadsSetting.On) ? "on" : "off",
    };

    private string DescribeShard()
    {
        if (_shardSetting is { } shard)
            return shard.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (_shardingKey is { } key && _poolConfig is { } pool)
        {
            var result = ShardingFunctions.Shard(pool.ShardingFunction, key, pool.Shards.Count);
            return result.IsValid ? result.Shard.ToString(System.Globalization.CultureInfo.InvariantCulture) : "invalid: " + result.Error;
        }
        return _poolConfig?.DefaultShard.ToString() ?? "0";
    }

    /// <summary>
    /// Chooses the server for the transaction that <paramref name="first"/> (its first message, whole
    /// when it is a Query or a Parse) starts. Null with <see cref="_routeProblem"/> set when none can take it.
    /// </summary>
    private RouteServer? ChooseRoute(in ReadOnlySequence<byte> first, in FrameHeader header)
    {
        var routes = _routes!;
        var pool = _poolConfig!;
        _routeProblem = null;
        var text = FirstQueryText(first, header);
        var hints = text is null ? default : RoutingComments.Read(text);

        int shard;
        if (routes.Shards.Count == 1)
            shard = 0;
        else if (!TryChooseShard(pool, routes, hints, text, out shard))
            return null;
        if (shard < 0 || shard >= routes.Shards.Count)
        {
            _routeProblem = $"shard {shard} does not exist: pool {pool.Name} has {routes.Shards.Count} (0 to {routes.Shards.Count - 1})";
            return null;
        }

        var role = hints.Role switch
        {
            ServerRole.Primary => RoleWanted.Primary,
            ServerRole.Replica => RoleWanted.Replica,
            _ => _roleSetting switch
            {
                ServerRoleSetting.Primary => RoleWanted.Primary,
                ServerRoleSetting.Replica => RoleWanted.Replica,
                ServerRoleSetting.Any => RoleWanted.Any,
                ServerRoleSetting.Auto => Classified(text) ?? DefaultRole(pool),
                _ => (pool.QueryParserEnabled && pool.QueryParserReadWriteSplitting ? Classified(text) : null) ?? DefaultRole(pool),
            },
        };
        var primaryReads = _primaryReadsSetting == PrimaryReadsSetting.Default
            ? pool.PrimaryReadsEnabled
            : _primaryReadsSetting == PrimaryReadsSetting.On;
        _routeWanted = (shard, role, primaryReads);
        return Choose();
    }

    private RouteServer? Choose()
    {
        var (shard, role, primaryReads) = _routeWanted;
        var chosen = ServerChooser.Choose(_routes!.Shards[shard], role, primaryReads, _poolConfig!.LoadBalancingMode, DateTime.UtcNow, out var problem);
        if (chosen is null)
            _routeProblem = $"no server of pool {_poolConfig.Name}, shard {shard} can take this transaction: {problem}";
        return chosen;
    }

    /// <summary>
    /// The server chosen for this transaction failed (its connect or health check; it is banned now,
    /// see <see cref="BanChosen"/>): another one of the same shard and role is chosen. False when
    /// there is no other, or the pool has one server.
    /// </summary>
    private bool ChooseAgain(DateTime now)
    {
        if (_routes is not { Only: null } || _nextRoute is null || !_nextRoute.Health.IsBanned(now))
            return false;
        _nextRoute = Choose();
        return _nextRoute is not null;
    }

    /// <summary>A health check of the chosen server failed: with other servers to go to, it is banned for ban_time.</summary>
    private void BanChosen(string reason)
    {
        if (_routes is not { Only: null } || _nextRoute is not { } route || _routes.Shards[route.Shard].Count < 2)
            return;
        if (route.Health.Ban(General.BanTime, reason, DateTime.UtcNow))
            _log.LogWarning("server {Server} banned for {BanTime} s: {Reason}", route.Health, General.BanTime.TotalSeconds, reason);
    }

    private static RoleWanted DefaultRole(PoolConfig pool) => pool.DefaultRole switch
    {
        Config.DefaultRole.Primary => RoleWanted.Primary,
        Config.DefaultRole.Replica => RoleWanted.Replica,
        _ => RoleWanted.Any,
    };

    /// <summary>The query parser: a plain read may go to a replica, anything else goes to the primary.</summary>
    private static RoleWanted? Classified(string? text) =>
        text is null ? null : QueryClassifier.Classify(text) == QueryAccess.Read ? RoleWanted.Replica : RoleWanted.Primary;

    /// <summary>
    /// In this order: a shard or sharding key comment, the automatic_sharding_key the query compares
    /// with a literal, SET SHARD / SET SHARDING KEY, default_shard.
    /// </summary>
    private bool TryChooseShard(PoolConfig pool, UserRoutes routes, RoutingHints hints, string? text, out int shard)
    {
        shard = 0;
        var automatic = hints.Shard is null && hints.ShardingKey is null && pool.AutomaticShardingKey is { } column && text is not null
            ? AutomaticShardingKey.Find(text, column)
            : null;
        var key = hints.ShardingKey ?? automatic ?? (hints.Shard is null && _shardSetting is null ? _shardingKey : null);
        if (hints.Shard is { } fromComment)
            shard = fromComment;
        else if (key is not null)
        {
            var result = ShardingFunctions.Shard(pool.ShardingFunction, key, routes.Shards.Count);
            if (!result.IsValid)
            {
                _routeProblem = $"sharding key '{key}': {result.Error}";
                return false;
            }
            shard = result.Shard;
        }
        else if (_shardSetting is { } set)
            shard = set;
        else
        {
            switch (pool.DefaultShard.Kind)
            {
                case DefaultShardKind.Index:
                    shard = pool.DefaultShard.Index;
                    break;
                case DefaultShardKind.Random:
                    shard = Random.Shared.Next(routes.Shards.Count);
                    break;
                default:
                    var now = DateTime.UtcNow;
                    var healthy = Enumerable.Range(0, routes.Shards.Count)
                        .Where(s => routes.Shards[s].Any(server => !server.Health.IsBanned(now))).ToList();
                    shard = healthy.Count > 0 ? healthy[Random.Shared.Next(healthy.Count)] : Random.Shared.Next(routes.Shards.Count);
                    break;
            }
        }
        return true;
    }

    /// <summary>The SQL of a transaction's first message: a Query's text, a Parse's, or a named Bind's statement.</summary>
    private string? FirstQueryText(in ReadOnlySequence<byte> first, in FrameHeader header)
    {
        if (first.Length < header.FrameLength || header.FrameLength > RouteInspectLimit)
        {
            if (header.Type != FrontendMessageType.Bind)
                return null;
        }
        var available = first.Slice(FrameScanner.HeaderLength, Math.Min(first.Length, header.FrameLength) - FrameScanner.HeaderLength);
        var reader = new SequenceReader<byte>(available);
        switch (header.Type)
        {
            case FrontendMessageType.Query:
                return reader.TryReadTo(out ReadOnlySequence<byte> query, 0) ? Encoding.UTF8.GetString(query) : null;
            case FrontendMessageType.Parse:
                return reader.TryAdvanceTo(0) && reader.TryReadTo(out ReadOnlySequence<byte> parsed, 0) ? Encoding.UTF8.GetString(parsed) : null;
            case FrontendMessageType.Bind:
                if (!reader.TryAdvanceTo(0) || !reader.TryReadTo(out ReadOnlySequence<byte> name, 0) || name.IsEmpty)
                    return null;
                if (_statements?.Find(Contiguous(name)) is not { } statement)
                    return null;
                var end = Array.IndexOf(statement.Body, (byte)0);
                return end < 0 ? null : Encoding.UTF8.GetString(statement.Body, 0, end);
            default:
                return null;
        }
    }
}
