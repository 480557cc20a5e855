using System.Net;
using System.Net.Sockets;
using Pooler.Core.Pools;
using Pooler.Core.Servers;
using Pooler.Core.Tests.Servers;
using Xunit;

namespace Pooler.Core.Tests.Pools;

/// <summary>
/// The desk's line of sessions waiting for a server connection: first come, first served, a
/// session that leaves is passed over, and a busy pool's hand-over allocates nothing.
/// </summary>
public sealed class ServerDeskTests : IAsyncLifetime
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private Task _postgres = Task.CompletedTask;
    private ServerConnection _server = null!;

    public async Task InitializeAsync()
    {
        _listener.Start();
        _postgres = Task.Run(() => LoopbackPostgres.ServeAsync(_listener));
        _server = await ServerConnection.ConnectAsync(LoopbackPostgres.Target(_listener, Limit), CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _postgres.WaitAsync(Limit);
        _listener.Stop();
    }

    [Fact]
    public void A_returned_connection_goes_to_the_longest_waiting_session_passing_over_one_that_left()
    {
        var desk = new ServerDesk(TimeSpan.Zero);
        var (first, left, last) = (new Session(), new Session(), new Session());
        Assert.False(desk.TryTakeOrQueue(first, 1, out _, out _));
        Assert.False(desk.TryTakeOrQueue(left, 2, out _, out _));
        Assert.False(desk.TryTakeOrQueue(last, 3, out _, out _));
        desk.Leave(left, 2);
        Assert.Equal(2, desk.Observe().Waiting);

        Assert.True(desk.TryReturn(_server, inline: true));
        Assert.Same(_server, first.Reply);
        Assert.True(desk.TryReturn(_server, inline: true));
        Assert.Same(_server, last.Reply);
        Assert.Null(left.Reply);

        // Nobody waits any more: the connection stays at the desk for the next session to take.
        Assert.True(desk.TryReturn(_server, inline: true));
        var (idle, waiting, oldest) = desk.Observe();
        Assert.Equal(new[] { _server }, idle);
        Assert.Equal(0, waiting);
        Assert.Null(oldest);
        Assert.True(desk.TryTakeOrQueue(new Session(), 4, out var taken, out _));
        Assert.Same(_server, taken);
    }

    [Fact]
    public void A_session_whose_wait_is_over_is_passed_over_and_everyone_in_line_can_be_told_to_leave()
    {
        var desk = new ServerDesk(TimeSpan.Zero);
        var gone = new Session { Refuses = true }; // its client left just as the connection came back
        var next = new Session();
        desk.TryTakeOrQueue(gone, 1, out _, out _);
        desk.TryTakeOrQueue(next, 2, out _, out _);

        Assert.True(desk.TryReturn(_server, inline: true));
        Assert.Null(gone.Reply);
        Assert.Same(_server, next.Reply);

        var waiting = Enumerable.Range(0, 40).Select(_ => new Session()).ToList(); // more than the line's first ring holds
        for (var i = 0; i < waiting.Count; i++)
            desk.TryTakeOrQueue(waiting[i], 10 + i, out _, out _);
        desk.Leave(waiting[5], 15);
        var told = desk.TakeAllWaiters();
        Assert.Equal(waiting.Where((_, i) => i != 5), told.Select(w => (Session)w.ReplyTo));
        Assert.Equal(0, desk.WaitingCount);
    }

    [Fact]
    public void Handing_a_returned_connection_to_the_next_session_in_line_allocates_nothing()
    {
        // In a busy pool every transaction queues at the desk and is answered by a return.
        var desk = new ServerDesk(TimeSpan.Zero);
        var sessions = Enumerable.Range(0, 100).Select(_ => new Session()).ToArray();
        Cycle(desk, sessions, 0); // warm-up: the line grows to its length, the code is compiled

        var before = GC.GetAllocatedBytesForCurrentThread();
        var unexpected = Cycle(desk, sessions, 1_000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, unexpected);
        Assert.Equal(0, desk.WaitingCount);
        Assert.All(sessions, s => Assert.Same(_server, s.Reply));
        Assert.Equal(0, allocated);
    }

    /// <summary>
    /// Ten times: every session joins the line, then the connection is returned once for each.
    /// Counts the calls that did not go as expected (xunit's asserts allocate, so none in here).
    /// </summary>
    private int Cycle(ServerDesk desk, Session[] sessions, long firstRequest)
    {
        var unexpected = 0;
        for (var round = 0; round < 10; round++)
        {
            for (var i = 0; i < sessions.Length; i++)
                if (desk.TryTakeOrQueue(sessions[i], firstRequest + round * sessions.Length + i + 1, out _, out _))
                    unexpected++;
            for (var i = 0; i < sessions.Length; i++)
                if (!desk.TryReturn(_server, inline: true))
                    unexpected++;
        }
        return unexpected;
    }

    [Fact]
    public void Each_answer_warms_the_front_of_the_line_one_step_per_place_and_passes_over_a_session_that_left()
    {
        var desk = new ServerDesk(TimeSpan.Zero);
        var line = Enumerable.Range(0, 8).Select(_ => new Session { RecordsWarming = true }).ToList();
        for (var i = 0; i < line.Count; i++)
            Assert.False(desk.TryTakeOrQueue(line[i], i + 1, out _, out _));
        desk.Leave(line[4], 5);

        for (var answered = 0; answered < 7; answered++)
            Assert.True(desk.TryReturn(_server, inline: true));

        // Before its answer each session was warmed at the third place, the second and the first
        // (each step reads only what the one before loaded); the fourth place is a bare prefetch.
        Assert.Empty(line[0].Warmed); // answered first: the line was not warmed before it
        Assert.Equal(new[] { 0 }, line[1].Warmed);
        Assert.Equal(new[] { 1, 0 }, line[2].Warmed);
        foreach (var session in new[] { line[3], line[5], line[6], line[7] })
            Assert.Equal(new[] { 2, 1, 0 }, session.Warmed);
        Assert.Empty(line[4].Warmed);
        Assert.All(line.Where(s => s != line[4]), s => Assert.Same(_server, s.Reply));
    }

    private sealed class Session : ICheckoutWaiter
    {
        public object? Reply { get; private set; }
        public bool Refuses { get; init; }
        public bool RecordsWarming { get; init; } // (a list that grows would spoil the allocation test)
        public List<int> Warmed { get; } = [];

        public void Warm(int place)
        {
            if (RecordsWarming)
                Warmed.Add(place);
        }

        public bool TryComplete(object reply, long requestId, bool inline)
        {
            if (Refuses)
                return false;
            Reply = reply;
            return true;
        }
    }
}
