using System.Threading.Tasks.Sources;
using Akka.Actor;
using static Pooler.Core.Pools.PoolProtocol;

namespace Pooler.Core.Clients;

/// <summary>
/// Where a session's checkouts are answered. The pool replies to this reference, and the reply
/// completes the session's wait directly: no temporary actor (as Ask makes) and no hop through the
/// session actor's mailbox on the one round trip every transaction makes. A reply that arrives
/// after the session stopped waiting is a connection nobody will use: it goes straight back.
/// </summary>
internal sealed class CheckoutReply : MinimalActorRef, IValueTaskSource<object>
{
    private static long s_next;
    private readonly IActorRefProvider _provider;
    private readonly ActorPath _path;
    private ManualResetValueTaskSourceCore<object> _core = new() { RunContinuationsAsynchronously = true };
    private long _awaited; // the request id being waited for; 0 when none

    public CheckoutReply(IActorRefProvider provider)
    {
        _provider = provider;
        _path = new RootActorPath(provider.DefaultAddress) / "temp" / ("checkout-" + Interlocked.Increment(ref s_next));
    }

    public override ActorPath Path => _path;

    public override IActorRefProvider Provider => _provider;

    /// <summary>Starts waiting for the answer to <paramref name="requestId"/>.</summary>
    public ValueTask<object> Expect(long requestId)
    {
        _core.Reset();
        Volatile.Write(ref _awaited, requestId);
        return new ValueTask<object>(this, _core.Version);
    }

    /// <summary>Stops waiting (the client left): the wait ends with cancellation, a late reply goes back.</summary>
    public void Abandon()
    {
        var awaited = Volatile.Read(ref _awaited);
        if (awaited != 0 && Interlocked.CompareExchange(ref _awaited, 0, awaited) == awaited)
            _core.SetException(new OperationCanceledException("the client left while waiting for a server connection"));
    }

    protected override void TellInternal(object message, IActorRef sender)
    {
        var requestId = message switch
        {
            Assigned assigned => assigned.RequestId,
            CheckoutFailed failed => failed.RequestId,
            _ => -1,
        };
        if (requestId > 0 && Interlocked.CompareExchange(ref _awaited, 0, requestId) == requestId)
        {
            _core.SetResult(message);
            return;
        }
        if (message is Assigned stale)
            sender.Tell(new Checkin(stale.Server, Reusable: true));
    }

    object IValueTaskSource<object>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<object>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<object>.OnCompleted(Action<object?> continuation, object? state, short token,
        ValueTaskSourceOnCompletedFlags flags) => _core.OnCompleted(continuation, state, token, flags);
}
