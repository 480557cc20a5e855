using System.Threading.Tasks.Sources;
using Pooler.Core.Pools;

namespace Pooler.Core.Clients;

/// <summary>
/// A session's wait for a server connection at its pool's desk, reused for every checkout. The
/// answer completes the session's await directly — when another session hands its connection
/// over, the waiting session continues on that thread, with no message and no thread hop. An
/// answer for a wait that is over (the client left) is refused, and the desk offers the connection
/// to the next session in line.
/// </summary>
internal sealed class CheckoutReply(ClientSession owner) : ICheckoutWaiter, IValueTaskSource<object>
{
    private ManualResetValueTaskSourceCore<object> _core;
    private object? _resumes; // what the answer resumes (the session's forwarding loop), for Warm
    private long _awaited; // the request id being waited for; 0 when none

    /// <summary>Starts waiting for the answer to <paramref name="requestId"/>.</summary>
    public ValueTask<object> Expect(long requestId)
    {
        _core.Reset();
        Volatile.Write(ref _awaited, requestId);
        return new ValueTask<object>(this, _core.Version);
    }

    /// <summary>Ends a wait that was never queued (the desk had an idle connection); nothing completes it.</summary>
    public void Withdraw(long requestId) => Interlocked.CompareExchange(ref _awaited, 0, requestId);

    /// <summary>Stops waiting (the client left): the wait ends with cancellation, a late answer is refused.</summary>
    public void Abandon()
    {
        var awaited = Volatile.Read(ref _awaited);
        if (awaited != 0 && Interlocked.CompareExchange(ref _awaited, 0, awaited) == awaited)
        {
            _core.RunContinuationsAsynchronously = true;
            _core.SetException(new OperationCanceledException("the client left while waiting for a server connection"));
        }
    }

    public bool TryComplete(object reply, long requestId, bool inline)
    {
        if (requestId <= 0 || Interlocked.CompareExchange(ref _awaited, 0, requestId) != requestId)
            return false;
        _core.RunContinuationsAsynchronously = !inline;
        _core.SetResult(reply);
        return true;
    }

    public void Warm(int place)
    {
        if (place < 2)
        {
            owner.WarmForLending(place);
            return;
        }
        Servers.Prefetch.Object(_resumes, lines: 6);
        Servers.Prefetch.Object(owner, lines: 6);
    }

    object IValueTaskSource<object>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<object>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<object>.OnCompleted(Action<object?> continuation, object? state, short token,
        ValueTaskSourceOnCompletedFlags flags)
    {
        _resumes = state;
        _core.OnCompleted(continuation, state, token, flags);
    }
}
