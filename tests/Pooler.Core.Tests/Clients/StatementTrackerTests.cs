using Pooler.Core.Clients;
using Pooler.Core.Servers;
using Pooler.Protocol;
using Xunit;

namespace Pooler.Core.Tests.Clients;

/// <summary>
/// How a lease matches the server's ParseComplete/CloseComplete answers to what was sent: in order,
/// runs of plain answers included, and with a failed batch's skipped answers undone at its ReadyForQuery.
/// </summary>
public sealed class StatementTrackerTests
{
    private const byte Parse = BackendMessageType.ParseComplete;
    private const byte Close = BackendMessageType.CloseComplete;

    private readonly ServerStatements _server = new();
    private readonly ClientStatements _client = new();

    private StatementTracker NewTracker() => new(_server, _client, leaseStamp: 1, capacity: 100);

    private static StatementFixup Plain(byte expect, long readyAt) => new(expect, StatementResponse.Forward, readyAt);

    [Fact]
    public void Answers_are_matched_in_the_order_the_messages_were_sent_across_runs_of_plain_ones()
    {
        var tracker = NewTracker();
        // A pipelined batch: three unnamed Parses, a Parse Pooler added (its answer is dropped), two more unnamed ones.
        tracker.Expect(Plain(Parse, 1));
        tracker.Expect(Plain(Parse, 1));
        tracker.Expect(Plain(Parse, 1));
        tracker.Expect(new StatementFixup(Parse, StatementResponse.Drop, 1) { AddedOnServer = "pooler_a" });
        tracker.Expect(Plain(Parse, 1));
        tracker.Expect(Plain(Close, 1));

        Assert.Equal(StatementResponse.Forward, tracker.OnResponse(Parse));
        Assert.Equal(StatementResponse.Forward, tracker.OnResponse(Parse));
        Assert.Equal(StatementResponse.Forward, tracker.OnResponse(Parse));
        Assert.Equal(StatementResponse.Drop, tracker.OnResponse(Parse));
        Assert.Equal(StatementResponse.Forward, tracker.OnResponse(Parse));
        Assert.Equal(StatementResponse.Forward, tracker.OnResponse(Close));
    }

    [Fact]
    public void Try_forward_takes_a_plain_answer_and_leaves_one_to_drop_for_the_full_look()
    {
        var tracker = NewTracker();
        tracker.Expect(Plain(Parse, 1));
        tracker.Expect(new StatementFixup(Close, StatementResponse.AsParseComplete, 1) { ClientName = "s1" });

        Assert.True(tracker.TryForward(Parse));
        Assert.False(tracker.TryForward(Close));
        Assert.False(tracker.TryForward(Close)); // still there: nothing was taken
        Assert.Equal(StatementResponse.AsParseComplete, tracker.OnResponse(Close));
        Assert.True(tracker.TryForward(Close)); // nothing owed any more: an answer to pass on
    }

    [Fact]
    public void A_failed_batch_undoes_what_its_skipped_messages_registered_and_the_next_batch_matches_its_own()
    {
        var tracker = NewTracker();
        _server.Add("pooler_old", 1);
        // Batch 1 (ready at 0: no ReadyForQuery owed before it): an unnamed Parse that fails, then a Parse of a
        // named statement Pooler added, and a Close it made room with. The server skips both after the error.
        tracker.Expect(Plain(Parse, 0));
        _server.Add("pooler_new", 1);
        tracker.Expect(new StatementFixup(Parse, StatementResponse.Drop, 0) { AddedOnServer = "pooler_new" });
        _server.Remove("pooler_old");
        tracker.Expect(new StatementFixup(Close, StatementResponse.Drop, 0) { RemovedFromServer = "pooler_old" });
        tracker.Expect(Plain(Parse, 0));
        // Batch 2, sent before batch 1's answers came: plain Parses, then one Pooler added.
        tracker.Expect(Plain(Parse, 1));
        tracker.Expect(Plain(Parse, 1));
        tracker.Expect(new StatementFixup(Parse, StatementResponse.Drop, 1) { AddedOnServer = "pooler_b" });

        tracker.OnReady(); // batch 1 ended in an error: none of its answers came

        Assert.Equal(new[] { "pooler_old" }, _server.Names);
        Assert.Equal(StatementResponse.Forward, tracker.OnResponse(Parse));
        Assert.Equal(StatementResponse.Forward, tracker.OnResponse(Parse));
        Assert.Equal(StatementResponse.Drop, tracker.OnResponse(Parse));
        tracker.OnReady();
        // Nothing is owed now: a stray answer passes on and takes nothing.
        tracker.Expect(new StatementFixup(Close, StatementResponse.Drop, 2));
        Assert.Equal(StatementResponse.Forward, tracker.OnResponse(Parse));
        Assert.Equal(StatementResponse.Drop, tracker.OnResponse(Close));
    }

    [Fact]
    public void A_renewed_tracker_owes_nothing_from_its_last_lease_and_stamps_the_new_one()
    {
        // A session's next lease reuses the tracker. Whatever the last lease left owed (answers a
        // server connection that went away never sent) must not be matched against the new server's.
        var tracker = NewTracker();
        for (var i = 0; i < 10; i++) // enough to use the ring behind the oldest entry
            tracker.Expect(new StatementFixup(Parse, StatementResponse.Drop, i) { AddedOnServer = $"pooler_{i}" });
        var next = new ServerStatements();

        tracker.Renew(next, leaseStamp: 9);

        Assert.Same(next, tracker.Server);
        Assert.Equal(9, tracker.LeaseStamp);
        Assert.Equal(0, tracker.ReadyAt(0));
        Assert.Equal(StatementResponse.Forward, tracker.OnResponse(Parse)); // not one of the old lease's drops
        next.Add("pooler_kept", 9);
        tracker.OnReady(); // and no undo of what the old lease registered
        Assert.Equal(new[] { "pooler_kept" }, next.Names);
        tracker.Expect(new StatementFixup(Close, StatementResponse.AsParseComplete, 1) { ClientName = "s1" });
        Assert.Equal(StatementResponse.AsParseComplete, tracker.OnResponse(Close));
    }

    [Fact]
    public void Answers_sent_and_received_interleaved_keep_their_order()
    {
        // A client that pipelines: new messages are written while answers to earlier ones arrive.
        var tracker = NewTracker();
        var owed = new Queue<(byte Type, StatementResponse Action)>();
        var random = new Random(7);
        for (var step = 0; step < 2_000; step++)
        {
            if (owed.Count == 0 || random.Next(3) > 0 && owed.Count < 40)
            {
                var type = random.Next(2) == 0 ? Parse : Close;
                var action = random.Next(3) == 0 ? StatementResponse.Forward : StatementResponse.Drop;
                tracker.Expect(action == StatementResponse.Forward
                    ? Plain(type, 0)
                    : new StatementFixup(type, action, 0) { AddedOnServer = $"pooler_{step}" });
                owed.Enqueue((type, action));
            }
            else
            {
                var (type, action) = owed.Dequeue();
                Assert.Equal(action, tracker.OnResponse(type));
            }
        }
    }

    [Fact]
    public void Many_answers_owed_at_once_are_all_kept()
    {
        var tracker = NewTracker();
        for (var i = 0; i < 50; i++)
        {
            tracker.Expect(new StatementFixup(Parse, StatementResponse.Drop, 1) { AddedOnServer = $"pooler_{i}" });
            tracker.Expect(Plain(Close, 1));
        }
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(StatementResponse.Drop, tracker.OnResponse(Parse));
            Assert.Equal(StatementResponse.Forward, tracker.OnResponse(Close));
        }
        tracker.Expect(new StatementFixup(Close, StatementResponse.AsDeallocate, 2));
        Assert.Equal(StatementResponse.AsDeallocate, tracker.OnResponse(Close));
    }
}
