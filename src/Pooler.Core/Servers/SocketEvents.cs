using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace Pooler.Core.Servers;

/// <summary>
/// Readiness of one socket, as the pooler's own epoll loop reports it (<see cref="EventLoop"/>):
/// <see cref="Readable"/> and <see cref="Writable"/> each remember whether the kernel said "ready"
/// since the side last found the socket empty (or full), and let one waiter park until it does.
/// </summary>
internal sealed class SocketEvents
{
    internal SocketEvents(EventLoop loop, int slot, uint generation)
    {
        Loop = loop;
        Slot = slot;
        Generation = generation;
    }

    internal int Slot { get; }
    internal uint Generation { get; }

    internal EventLoop Loop { get; }

    public Readiness Readable { get; } = new();

    /// <summary>The socket's reader on this loop, for <see cref="Warm"/>.</summary>
    internal SocketReader? Reader { get; set; }

    /// <summary>Fetches into the CPU's cache the objects a readable report goes through next (a hint; see <see cref="Prefetch"/>).</summary>
    internal void Warm()
    {
        Prefetch.Object(Readable, lines: 2);
        Prefetch.Object(Reader, lines: 3);
    }

    /// <summary>The step after <see cref="Warm"/>: what the reader's receive and its caller touch.</summary>
    internal void WarmReader()
    {
        Readable.Warm();
        Reader?.WarmResume();
    }

    /// <summary>
    /// Made when a send first has to wait (most sockets never fill their send buffer): until then
    /// the loop's writable reports touch nothing, and an idle connection carries one readiness,
    /// not two. It starts ready, so its first wait returns at once and the send is tried again:
    /// a report that came before it existed is not lost.
    /// </summary>
    public Readiness Writable => Volatile.Read(ref _writable) ?? CreateWritable();

    private Readiness? _writable;
    private int _closed;

    /// <summary>
    /// The peer closed its side or the socket failed: the kernel will not report it again, so a
    /// read that comes up short cannot conclude the queue is empty (the end is still to be read).
    /// </summary>
    public bool EndPending => Volatile.Read(ref _endPending);

    private bool _endPending;

    internal void OnEvents(uint events)
    {
        if ((events & (EventLoop.RdHup | EventLoop.Hup | EventLoop.Err)) != 0)
            Volatile.Write(ref _endPending, true);
        if ((events & (EventLoop.In | EventLoop.RdHup | EventLoop.Hup | EventLoop.Err)) != 0)
            Readable.Signal();
        if ((events & (EventLoop.Out | EventLoop.Hup | EventLoop.Err)) != 0)
            Volatile.Read(ref _writable)?.Signal();
    }

    private Readiness CreateWritable()
    {
        var created = new Readiness();
        var writable = Interlocked.CompareExchange(ref _writable, created, null) ?? created;
        // Close may have run meanwhile without seeing it; both sides fence, so one of them closes it.
        if (Volatile.Read(ref _closed) != 0)
            writable.Close();
        return writable;
    }

    /// <summary>Stops reporting this socket; a read or a send waiting for it fails with an <see cref="IOException"/>.</summary>
    public void Close()
    {
        Interlocked.Exchange(ref _closed, 1);
        Loop.Remove(this);
        Readable.Close();
        Volatile.Read(ref _writable)?.Close();
    }
}

/// <summary>
/// One side's readiness (read or write) of a socket in an <see cref="EventLoop"/>: edge-triggered
/// epoll says "ready" once per change, so it is remembered until the side takes it
/// (<see cref="TakeReady"/>) or a waiter parked for it (<see cref="WaitAsync"/>) is woken, on the
/// loop's thread, with the continuation running right there. One waiter at a time.
/// </summary>
internal sealed class Readiness : IValueTaskSource
{
    private const int Idle = 0;    // nothing reported since the side last found the socket not ready
    private const int Ready = 1;   // reported, not yet taken
    private const int Waiting = 2; // a waiter is parked
    private const int Closed = 3;

    private static readonly Action<object?, CancellationToken> s_cancel = static (state, token) => ((Readiness)state!).Cancel(token);

    private int _state = Ready; // a new socket may have data already: look first
    private ManualResetValueTaskSourceCore<bool> _core; // continuations run on the completing thread
    private Action<Exception?>? _parked; // the waiter of Park, instead of _core's continuation
    private CancellationTokenRegistration _cancellation;
    private CancellationToken _waitToken;

    /// <summary>Readiness was reported and not taken yet.</summary>
    public bool IsReady => Volatile.Read(ref _state) == Ready;

    /// <summary>True when the kernel reported readiness since the last take: an attempt may succeed.</summary>
    public bool TakeReady() => Interlocked.CompareExchange(ref _state, Idle, Ready) == Ready;

    /// <summary>
    /// Waits for readiness. Completes at once when it was reported meanwhile: the wait takes that
    /// report, so the caller must try its receive or send again, not look for another one. Fails with <see cref="IOException"/> once the socket is closed and with
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires.
    /// </summary>
    public ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled(cancellationToken);
        _core.Reset();
        return Enter(cancellationToken) switch
        {
            Entry.Parked => new ValueTask(this, _core.Version),
            Entry.Taken => ValueTask.CompletedTask,
            _ => ValueTask.FromException(ClosedError()),
        };
    }

    /// <summary>
    /// <see cref="WaitAsync"/> for a waiter that is a callback (a socket's reader): false once it is
    /// parked — <paramref name="onReady"/> then runs on the loop's thread when the side is ready (with
    /// null), or on the thread pool when <paramref name="cancellationToken"/> fires or the socket
    /// closes (with the error). True when readiness was reported meanwhile: the call took it, and the
    /// caller must try again. Throws when the socket is closed or the token cancelled already.
    /// Readiness reaches the callback directly, without a task source and its continuation between.
    /// </summary>
    public bool Park(Action<Exception?> onReady, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _parked = onReady; // before the state says Waiting: Signal reads it after its exchange
        var entry = Enter(cancellationToken);
        if (entry == Entry.Parked)
            return false;
        _parked = null;
        return entry == Entry.Taken ? true : throw ClosedError();
    }

    private enum Entry { Parked, Taken, Closed }

    /// <summary>
    /// A waiter arrives: it parks (the state says Waiting), or takes a report that came meanwhile,
    /// or finds the socket closed.
    /// </summary>
    private Entry Enter(CancellationToken cancellationToken)
    {
        Register(cancellationToken);
        switch (Interlocked.CompareExchange(ref _state, Waiting, Idle))
        {
            case Idle:
                if (cancellationToken.IsCancellationRequested)
                    Cancel(cancellationToken); // fired before the registration could see the waiter
                return Entry.Parked;
            case Ready when Interlocked.CompareExchange(ref _state, Idle, Ready) == Ready:
                return Entry.Taken;
            default:
                return Entry.Closed;
        }
    }

    private void Register(CancellationToken cancellationToken)
    {
        if (cancellationToken == _waitToken)
            return;
        // One registration per token, kept from wait to wait (a session waits on the same token all
        // its life): registering and unregistering on every wait cost ~1.5 % of the loop's time.
        // Fired between waits, it finds no waiter; the next wait sees the token cancelled.
        _cancellation.Unregister();
        _waitToken = cancellationToken;
        _cancellation = cancellationToken.CanBeCanceled ? cancellationToken.UnsafeRegister(s_cancel, this) : default;
    }

    /// <summary>Fetches the parked waiter's callback object into the CPU's cache (a hint).</summary>
    internal void Warm() => Prefetch.Object(_parked);

    /// <summary>The loop saw the side become ready: wakes the waiter, or remembers it.</summary>
    internal void Signal()
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            switch (state)
            {
                case Ready or Closed:
                    return;
                case Waiting when Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting:
                    Complete(null);
                    return;
                case Idle when Interlocked.CompareExchange(ref _state, Ready, Idle) == Idle:
                    return;
            }
        }
    }

    // A cancellation or a close wakes the waiter on the thread pool, not on the canceller's or
    // closer's thread, which may hold locks the waiter's continuation would take.
    private void Cancel(CancellationToken token)
    {
        // The callback of a token the waits have moved away from must not end a wait on another.
        if (token != _waitToken)
            return;
        if (Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Waiter.Complete(new OperationCanceledException(s.Token)),
                (Waiter: this, Token: token), preferLocal: false);
    }

    internal void Close()
    {
        if (Interlocked.Exchange(ref _state, Closed) == Waiting)
            ThreadPool.UnsafeQueueUserWorkItem(static waiter => waiter.Complete(ClosedError()), this, preferLocal: false);
    }

    private void Complete(Exception? error)
    {
        if (_parked is { } parked)
        {
            _parked = null;
            parked(error);
            return;
        }
        if (error is null)
            _core.SetResult(true);
        else
            _core.SetException(error);
    }

    private static IOException ClosedError() => new("the connection was closed");

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token,
        ValueTaskSourceOnCompletedFlags flags) => _core.OnCompleted(continuation, state, token, flags);
}

/// <summary>
/// An epoll instance and the thread that waits on it, for the data path's sockets (PgBouncer's
/// libevent loop, in short). .NET's socket engine tries every receive once before it waits, so
/// each receive that has to wait costs a failed system call, and it routes each event through
/// several layers to an awaiting task. Here a socket is registered once, edge-triggered, and a
/// read waits only after the kernel said its queue was empty: a receive that returned less than
/// it asked for drained it (<see cref="SocketReader"/>). Sockets are spread over the loops round-robin.
/// The flushes to clients made on a loop's thread while it handles a batch of events send when the
/// batch is done (<see cref="SocketWriter"/>): each send wakes a client, which would otherwise
/// preempt the loop in the middle of the batch. Flushes to servers send at once: a query held to
/// the end of the batch leaves its backend idle while clients wait in line for it.
/// </summary>
internal sealed class EventLoop
{
    internal const uint In = 0x001, Out = 0x004, Err = 0x008, Hup = 0x010, RdHup = 0x2000, EdgeTriggered = 1u << 31;
    private const int ControlAdd = 1;
    private const int EINTR = 4;

    /// <summary>Set to <c>dotnet</c> to use .NET's socket engine instead (the loops are not started).</summary>
    public const string EngineVariable = "POOLER_SOCKET_ENGINE";

    /// <summary>
    /// How many loops (threads); by default one per two processors. On 2 cores shared with
    /// PostgreSQL and pgbench, one loop used 18–30 % less CPU per transaction than two, at the
    /// same throughput: two busy loops preempt each other and the backends more often, and each
    /// wakes up for fewer events.
    /// </summary>
    public const string ThreadsVariable = "POOLER_IO_THREADS";

    private static readonly Lazy<EventLoop[]?> s_loops = new(Start);
    private static int s_next;
    private static uint s_generation;

    private readonly int _epoll;
    private readonly Lock _gate = new();
    private readonly Stack<int> _free = new();
    private SocketEvents?[] _slots = new SocketEvents?[64];
    private int _used;

    private EventLoop(int epoll) => _epoll = epoll;

    /// <summary>The loops, or null where they are not used (not Linux x64, or turned off): then sockets use .NET's engine.</summary>
    public static EventLoop[]? Loops => s_loops.Value;

    /// <summary>
    /// Registers <paramref name="socket"/> (connected or connecting) with the next loop; null when
    /// the loops are not used. <paramref name="server"/>: a connection to a server, whose events
    /// each batch handles before the clients' (see <see cref="Handle"/>).
    /// </summary>
    public static SocketEvents? Register(System.Net.Sockets.Socket socket, bool server)
    {
        if (Loops is not { } loops)
            return null;
        var loop = loops[(int)((uint)Interlocked.Increment(ref s_next) % (uint)loops.Length)];
        return loop.Add(socket, server);
    }

    private static EventLoop[]? Start()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64
            || string.Equals(Environment.GetEnvironmentVariable(EngineVariable), "dotnet", StringComparison.OrdinalIgnoreCase))
            return null;
        var count = int.TryParse(Environment.GetEnvironmentVariable(ThreadsVariable), out var n) && n > 0
            ? n
            : Math.Max(1, Environment.ProcessorCount / 2);
        var loops = new EventLoop[count];
        for (var i = 0; i < count; i++)
        {
            var epoll = epoll_create1(0x80000 /* EPOLL_CLOEXEC */);
            if (epoll < 0)
                throw new IOException($"epoll_create1 failed (errno {Marshal.GetLastPInvokeError()})");
            loops[i] = new EventLoop(epoll);
            // UnsafeStart: the thread does not take on the context of whoever used the loops first.
            new Thread(loops[i].Run) { IsBackground = true, Name = $"pooler-io-{i}" }.UnsafeStart();
        }
        return loops;
    }

    private SocketEvents Add(System.Net.Sockets.Socket socket, bool server)
    {
        SocketEvents events;
        lock (_gate)
        {
            var slot = _free.Count > 0 ? _free.Pop() : _used++;
            if (slot == _slots.Length)
            {
                var larger = new SocketEvents?[_slots.Length * 2];
                _slots.CopyTo(larger, 0);
                Volatile.Write(ref _slots, larger);
            }
            events = new SocketEvents(this, slot, Interlocked.Increment(ref s_generation));
            _slots[slot] = events;
        }
        var registration = new EpollEvent
        {
            Events = In | Out | RdHup | EdgeTriggered,
            Data = ((ulong)events.Generation << 32) | (uint)events.Slot | (server ? ServerBit : 0),
        };
        if (epoll_ctl(_epoll, ControlAdd, (int)socket.Handle, ref registration) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Remove(events);
            throw new IOException($"epoll_ctl failed (errno {errno})");
        }
        return events;
    }

    /// <summary>Forgets the socket; the kernel drops it from the epoll set when its descriptor closes.</summary>
    internal void Remove(SocketEvents events)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(_slots[events.Slot], events))
                return;
            _slots[events.Slot] = null;
            _free.Push(events.Slot);
        }
    }

    [ThreadStatic] private static EventLoop? t_current;

    private long _batchStarted; // Stopwatch timestamp: when the batch being handled came back from epoll_wait

    /// <summary>
    /// A <see cref="Stopwatch"/> timestamp for the statistics (query, transaction and wait times):
    /// on a loop's thread, when the loop's current batch of events came in, read once per batch
    /// rather than once per use (several times per transaction); elsewhere the clock now. An event
    /// is timed up to the batch's handling late, a few microseconds under load.
    /// </summary>
    internal static long Timestamp() => t_current is { } loop ? loop._batchStarted : Stopwatch.GetTimestamp();

    /// <summary>The loop whose thread this is, else null.</summary>
    internal static EventLoop? Current => t_current;

    private readonly Queue<SocketWriter> _deferred = new(); // touched by the loop's thread only

    /// <summary>
    /// The size of the buffers the loop lends: a client's send buffer while an answer waits for the
    /// end of the batch, and its receive buffer while a message is being read.
    /// </summary>
    internal const int LentBufferSize = 4096;

    /// <summary>
    /// How many free buffers a loop keeps: a client in line for a server holds one with its query,
    /// and the number in line swings by hundreds when a thousand clients share a pool; the buffers
    /// dropped past this bound are allocated again on the next swing.
    /// </summary>
    internal const int KeptBuffers = 1024;

    private readonly BufferShelf _lentBuffers = new(LentBufferSize, KeptBuffers);

    /// <summary>
    /// A buffer of <see cref="LentBufferSize"/> bytes, on any thread. Idle clients hold none: each
    /// takes one for a message or an answer and gives it back when that has passed. Taken from the
    /// loop, not the shared array pool: one thread-static read instead of the pool's per-thread and
    /// per-core lookups.
    /// </summary>
    internal byte[] RentBuffer() => t_current == this ? _lentBuffers.Rent() : _lentBuffers.RentElsewhere();

    /// <summary>
    /// Gives back a buffer of <see cref="LentBufferSize"/> bytes, on any thread. The loop keeps up to
    /// <see cref="KeptBuffers"/> of them (4 MiB), and as many again given back on other threads.
    /// </summary>
    internal void ReturnBuffer(byte[] buffer)
    {
        if (t_current == this)
            _lentBuffers.ReturnOnLoop(buffer);
        else
            _lentBuffers.ReturnElsewhere(buffer);
    }

    /// <summary>Sends <paramref name="writer"/>'s flush once this batch of events is handled.</summary>
    internal void Defer(SocketWriter writer) => _deferred.Enqueue(writer);

    private void Run()
    {
        t_current = this;
        var ready = GC.AllocateArray<EpollEvent>(256, pinned: true); // handed to the kernel as it is, not copied
        while (true)
        {
            // Under load events are waiting: a poll without the GC transition finds them; only
            // when there are none does the loop block (through the ordinary, transitioning call).
            var count = epoll_poll(_epoll, ref ready[0], ready.Length, 0);
            if (count == 0)
                count = epoll_wait(_epoll, ref ready[0], ready.Length, -1);
            if (count < 0)
            {
                var errno = Marshal.GetLastSystemError();
                if (errno == EINTR)
                    continue;
                Console.Error.WriteLine($"pooler: epoll_wait failed (errno {errno}); the I/O loop stops");
                return;
            }
            _batchStarted = Stopwatch.GetTimestamp();
            Handle(ready, count);
        }
    }

    /// <summary>
    /// One batch: the events of server connections, then the clients', then the batch's sends. A
    /// server's answer ends a transaction, and the connection goes straight to the next client in
    /// line with that client's query: handled first, the backend gets its next query without
    /// waiting behind the batch's client events, which at most join the line. A method of its own,
    /// so that the JIT compiles it as any other: the loop around it never returns, so code inside
    /// that loop would only ever run as on-stack-replacement code.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Handle(EpollEvent[] ready, int count)
    {
        var clients = 0;
        for (var i = 0; i < count; i++)
        {
            if ((ready[i].Data & ServerBit) == 0)
            {
                // For the second pass (clients <= i: nothing unread is overwritten). With many
                // clients their objects are not in the CPU's cache: the loading starts now, while the
                // servers' events are handled, and goes on in steps in the second pass.
                Prefetch.Object(Slot(ready[i].Data));
                ready[clients++] = ready[i];
            }
            else if (Find(ready[i].Data) is { } events)
                Dispatch(events, ready[i].Events);
        }
        // Each client's objects are fetched in steps, each step reading only what the one before
        // brought in: its socket's (above), then its readiness and reader (Warm, two events ahead),
        // then what the reader's receive and its caller touch (WarmReader, one event ahead).
        for (var i = 0; i < Math.Min(clients, 2); i++)
            Find(ready[i].Data)?.Warm();
        if (clients > 0)
            Find(ready[0].Data)?.WarmReader();
        for (var i = 0; i < clients; i++)
        {
            if (i + 2 < clients)
                Find(ready[i + 2].Data)?.Warm();
            if (i + 1 < clients)
                Find(ready[i + 1].Data)?.WarmReader();
            if (Find(ready[i].Data) is { } events)
                Dispatch(events, ready[i].Events);
        }
        // The batch's sends go out together, after its events: the tasks they wake (backends,
        // clients) then find the loop done with the batch instead of preempting it midway.
        while (_deferred.TryDequeue(out var writer))
        {
            try
            {
                writer.SendDeferred();
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"pooler: unhandled error on the I/O loop: {e}");
            }
        }
    }

    /// <summary>The socket an event is for; null when it was closed (its slot may be another socket's now).</summary>
    private SocketEvents? Find(ulong data) =>
        Slot(data) is { } events && events.Generation == (uint)(data >> 32) ? events : null;

    /// <summary>What the event's slot holds now, without looking into it (it may be another socket's by now).</summary>
    private SocketEvents? Slot(ulong data)
    {
        var slots = Volatile.Read(ref _slots);
        var slot = (int)((uint)data & ~ServerBit);
        return (uint)slot < (uint)slots.Length ? Volatile.Read(ref slots[slot]) : null;
    }

    /// <summary>
    /// In an event's data, beside the slot: the socket is a connection to a server (or to a pool's
    /// owner node), whose events come first in each batch. Read from the data, not the socket's
    /// object, so that the first pass over a batch need not load a client's object to sort it.
    /// </summary>
    private const uint ServerBit = 1u << 31;

    private static void Dispatch(SocketEvents events, uint happened)
    {
        try
        {
            events.OnEvents(happened);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"pooler: unhandled error on the I/O loop: {e}");
        }
    }

    [StructLayout(LayoutKind.Sequential, Pack = 4)] // x86-64's struct epoll_event is packed: 12 bytes
    private struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int epoll_create1(int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int epoll_ctl(int epfd, int op, int fd, ref EpollEvent ev);

    // errno is read right after the call (Marshal.GetLastSystemError): the stub need not save it.
    [DllImport("libc")]
    private static extern int epoll_wait(int epfd, ref EpollEvent events, int maxevents, int timeout);

    /// <summary>epoll_wait with timeout 0 only: it returns at once, so it may skip the GC transition.</summary>
    [DllImport("libc", EntryPoint = "epoll_wait"), SuppressGCTransition]
    private static extern int epoll_poll(int epfd, ref EpollEvent events, int maxevents, int timeout);
}
