using Microsoft.Extensions.Logging;
using Npgsql;
using RxEventBus.Postgres.Tests.Support;
using static RxEventBus.Postgres.Tests.Support.TestEvents;

namespace RxEventBus.Postgres.Tests.Subscriptions;

// The subscription's loop in virtual time, over an in-memory log: when it polls, how it backs off, how a
// notification cuts a wait short, how it reconnects and stands by, and when it stores checkpoints. Every wait
// is on the scheduler, so these run in microseconds of real time and never sleep.
public sealed class SubscriptionLoopTests : IAsyncLifetime
{
    private static readonly TimeSpan Min = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Max = TimeSpan.FromMilliseconds(800);
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(20);

    private readonly ThreadSafeTestScheduler _scheduler = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Event> _received = [];
    private readonly Lock _gate = new();
    private FakeLog _log = null!;
    private EventSubscription? _subscription;
    private Task? _reading;

    public Task InitializeAsync()
    {
        _log = new FakeLog(_scheduler);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_reading is not null)
        {
            await _reading.ContinueWith(static _ => { }, TaskScheduler.Default).WaitAsync(WaitLimit);
        }

        if (_subscription is not null)
        {
            await _subscription.DisposeAsync();
        }

        _log.OpenSessions.Should().Be(0, "every session the subscription opened is closed when it stops");
    }

    [Fact]
    public async Task ReadAsync_NothingNew_PollsAtDoublingIntervalsUpToTheMax()
    {
        await StartAsync(Options(), firstWait: Min);

        foreach (var wait in Ms(100, 200, 400, 800, 800))
        {
            var next = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, Max.Ticks));
            await AdvanceAndWaitForTimerAsync(wait, next);
        }

        _log.Reads.Should().Equal(
            Ms(0, 100, 300, 700, 1500, 2300),
            "an idle subscription polls at 100, 200, 400 ms, … up to MaxPollInterval: no busy loop");
    }

    [Fact]
    public async Task ReadAsync_RowsArriveWhilePolling_DeliversThemAndPollsAtTheShortestIntervalAgain()
    {
        await StartAsync(Options(), firstWait: Min);
        await AdvanceAndWaitForTimerAsync(Min, Min * 2);
        await AdvanceAndWaitForTimerAsync(Min * 2, Min * 4);

        var e = Create("orders", T0);
        _log.Add(e);
        await AdvanceAndWaitForTimerAsync(Min * 4, Min);

        Received().Should().Equal([e], "the poll found the row");
        _log.Reads.Should().Equal(Ms(0, 100, 300, 700));
    }

    [Fact]
    public async Task ReadAsync_NotificationDuringAWait_ReadsAtOnceWithoutWaitingForThePoll()
    {
        await StartAsync(Options(), firstWait: Min);
        await AdvanceAndWaitForTimerAsync(Min, Min * 2);

        var e = Create("orders", T0);
        _log.Add(e);
        var rearmed = _scheduler.WhenScheduledAsync(Min);
        _log.Notify();
        await rearmed.WaitAsync(WaitLimit);

        Received().Should().Equal([e], "the writer's notification woke the subscription before its 200 ms poll");
        _log.Reads.Should().Equal([TimeSpan.Zero, Min, Min], "the extra read happened at once, at virtual time 100 ms");
    }

    [Fact]
    public async Task ReadAsync_RowsBeyondTheFence_AreNotDeliveredUntilTheFenceMovesPastThem()
    {
        var early = Create("orders", T0);
        var late = Create("orders", T0);
        _log.Add(early, late);

        // The second row's transaction (101) is still running: the fence stands at it.
        _log.SetFence(101);
        await StartAsync(Options(), firstWait: Min);
        Received().Should().Equal([early], "a row whose transaction has not ended is not read past");

        _log.SetFence(102);
        await AdvanceAndWaitForTimerAsync(Min, Min);
        Received().Should().Equal([early, late], "the row is delivered once its transaction has ended, not skipped");
    }

    [Fact]
    public async Task ReadAsync_ConnectionFails_ReconnectsWithDoublingBackoffAndDeliversEverythingOnce()
    {
        var events = Enumerable.Range(0, 3).Select(i => Create("orders", T0, n: i)).ToArray();
        _log.Add(events);
        _log.FailNextReads(Transient(), Transient(), Transient());

        var reconnect = TimeSpan.FromMilliseconds(200);
        await StartAsync(Options(o => { o.ReconnectDelay = reconnect; o.MaxReconnectDelay = TimeSpan.FromSeconds(5); }), firstWait: reconnect);
        _subscription!.State.Should().Be(SubscriptionState.Reconnecting);
        await AdvanceAndWaitForTimerAsync(reconnect, reconnect * 2);
        await AdvanceAndWaitForTimerAsync(reconnect * 2, reconnect * 4);
        await AdvanceAndWaitForTimerAsync(reconnect * 4, Min);

        _log.Reads.Should().Equal(Ms(0, 200, 600, 1400), "200, 400, 800 ms between attempts");
        Received().Should().Equal(events, "after reconnecting it reads from where it was: nothing lost, nothing twice");
        _log.Opens.Should().Be(4, "each failure drops the session and opens a new one");
        _subscription.State.Should().Be(SubscriptionState.Live);
    }

    [Fact]
    public async Task ReadAsync_NameHeldElsewhere_StandsByRetryingEveryLeaderRetryIntervalAndDeliversNothing()
    {
        var e = Create("orders", T0);
        _log.Add(e);
        _log.RefuseLeadership(3);
        var retry = TimeSpan.FromSeconds(1);

        await StartAsync(Options(o => { o.Name = "billing"; o.LeaderRetryInterval = retry; }), firstWait: retry);
        _subscription!.State.Should().Be(SubscriptionState.Standby);
        await AdvanceAndWaitForTimerAsync(retry, retry);
        Received().Should().BeEmpty("an instance on standby delivers nothing");
        await AdvanceAndWaitForTimerAsync(retry, retry);
        await AdvanceAndWaitForTimerAsync(retry, Min);

        _log.LeadAttempts.Should().Equal(Ms(0, 1000, 2000, 3000));
        Received().Should().Equal([e], "once it holds the name it reads");
    }

    [Fact]
    public async Task ReadAsync_NamedSubscription_StoresACheckpointEveryCheckpointEveryEventsAndWhenItStops()
    {
        var events = Enumerable.Range(0, 25).Select(i => Create("orders", T0, n: i)).ToArray();
        _log.Add(events);

        await StartAsync(Options(o => { o.Name = "billing"; o.CheckpointEvery = 10; o.CheckpointInterval = TimeSpan.FromHours(1); }), firstWait: Min);

        Received().Should().HaveCount(25);
        _log.Stores.Select(s => s.Position).Should().Equal(
            [LogPosition.Beginning, _log.PositionOf(9), _log.PositionOf(19)],
            "the start, at once for a new name; then after the 10th and the 20th handled event; the other 5 are not due yet");

        await StopAsync();
        _log.Stores.Select(s => s.Position).Should().Equal(
            [LogPosition.Beginning, _log.PositionOf(9), _log.PositionOf(19), new LogPosition(124, long.MaxValue)],
            "stopping stores everything handled, up to the fence");
    }

    [Fact]
    public async Task ReadAsync_CatchingUp_ReadsTheNextPageWhileTheCurrentOneIsHandled()
    {
        var events = Enumerable.Range(0, 10).Select(i => Create("orders", T0, n: i)).ToArray();
        _log.Add(events);
        await using var subscription = new EventSubscription(_log, Options(o => o.PageSize = 4), _scheduler, logger: null, reconnectJitter: 0);
        var received = new List<Event>();

        await using (var reader = subscription.ReadAsync().GetAsyncEnumerator())
        {
            (await reader.MoveNextAsync()).Should().BeTrue();
            received.Add(reader.Current);
            _log.Reads.Should().HaveCount(2, "the first page was full, so the second is read while its events are handled");

            while (received.Count < events.Length && await reader.MoveNextAsync())
            {
                received.Add(reader.Current);
            }
        }

        received.Should().Equal(events, "the page read ahead continues exactly where the one before it ended");
        _log.Reads.Should().HaveCount(3, "pages of 4, 4 and 2: the last, not full, is the end of the catch-up and nothing is read after it until a poll");
    }

    [Fact]
    public async Task ReadAsync_SlowTrickle_StoresOneCheckpointPerIntervalNotOnePerRead()
    {
        var options = Options(o => { o.Name = "billing"; o.CheckpointEvery = 1_000; o.CheckpointInterval = TimeSpan.FromSeconds(1); });
        await StartAsync(options, firstWait: Min);

        // One row per 100 ms poll, for 1.2 s: twelve reads that find a row each.
        for (var i = 0; i < 12; i++)
        {
            _log.Add(Create("orders", T0, n: i));
            await AdvanceAndWaitForTimerAsync(Min, Min);
        }

        Received().Should().HaveCount(12);
        _log.Stores.Should().Equal(
            [(TimeSpan.Zero, LogPosition.Beginning), (TimeSpan.FromSeconds(1), new LogPosition(108, long.MaxValue))],
            "one store when the second has passed, of what was handled by then (nine rows, up to the fence), not one per read");
    }

    [Fact]
    public async Task ReadAsync_IdleWithSomethingUnstored_WakesToStoreItWhenTheIntervalPasses()
    {
        var options = Options(o => { o.Name = "billing"; o.CheckpointInterval = TimeSpan.FromMilliseconds(250); o.MaxPollInterval = TimeSpan.FromSeconds(10); });
        _log.Add(Create("orders", T0));
        await StartAsync(options, firstWait: Min);

        // At 100 ms the poll would wait 200 ms, but the checkpoint falls due at 250 ms: it waits 150.
        await AdvanceAndWaitForTimerAsync(Min, TimeSpan.FromMilliseconds(150));
        await AdvanceAndWaitForTimerAsync(TimeSpan.FromMilliseconds(150), Min * 4);

        _log.Stores.Should().Equal([(TimeSpan.Zero, LogPosition.Beginning), (TimeSpan.FromMilliseconds(250), new LogPosition(100, long.MaxValue))]);
    }

    [Fact]
    public async Task ReadAsync_NewNameFromEnd_StoresItsStartAtOnceSoARestartMissesNothingWrittenBetween()
    {
        _log.Add(Create("orders", T0), Create("orders", T0));
        await StartAsync(Options(o => { o.Name = "audit"; o.From = SubscriptionStart.End; }), firstWait: Min);

        _log.Stores.Should().Equal([(TimeSpan.Zero, new LogPosition(101, long.MaxValue))],
            "a process killed before its first checkpoint falls due restarts from here, not from a later End");
    }

    [Fact]
    public async Task ReadAsync_StoredCheckpoint_ResumesAfterIt()
    {
        var events = Enumerable.Range(0, 5).Select(i => Create("orders", T0, n: i)).ToArray();
        _log.Add(events);
        _log.SetCheckpoint("billing", _log.PositionOf(2));

        await StartAsync(Options(o => { o.Name = "billing"; o.From = SubscriptionStart.Beginning; }), firstWait: Min);

        Received().Should().Equal([events[3], events[4]], "a stored checkpoint wins over From");
    }

    [Fact]
    public async Task ReadAsync_FromEnd_DeliversOnlyRowsOfLaterTransactions()
    {
        _log.Add(Create("orders", T0), Create("orders", T0));
        await StartAsync(Options(o => o.From = SubscriptionStart.End), firstWait: Min);
        Received().Should().BeEmpty();

        var later = Create("orders", T0);
        _log.Add(later);
        await AdvanceAndWaitForTimerAsync(Min, Min);

        Received().Should().Equal([later]);
    }

    [Fact]
    public async Task ReadAsync_TopicPatterns_DeliverMatchingTopicsByTheBusRulesAndPassOverTheRest()
    {
        var events = new[] { Create("orders.placed", T0), Create("metrics.orders", T0), Create("orders.paid", T0), Create("users", T0) };
        _log.Add(events);

        await StartAsync(Options(o => { o.Name = "billing"; o.Topics = ["orders"]; }), firstWait: Min);

        Received().Should().Equal([events[0], events[2]], "patterns are anchored at the start, as on the bus");
        await StopAsync();
        _log.CheckpointOf("billing").Should().Be(new LogPosition(103, long.MaxValue), "the checkpoint moves past rows of other topics too");
    }

    private static TimeSpan[] Ms(params int[] milliseconds) => [.. milliseconds.Select(ms => TimeSpan.FromMilliseconds(ms))];

    private async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _reading!.ContinueWith(static _ => { }, TaskScheduler.Default).WaitAsync(WaitLimit);
    }

    [Fact]
    public async Task ReadAsync_RowsHeldBackByAnOpenTransaction_WarnsOnceNamingItAfterHeldBackWarningThenReportsItsEnd()
    {
        var logger = new ListLogger<EventSubscription>();
        _log.Add(Create("orders", T0), Create("orders", T0));
        _log.SetFence(100);
        await StartAsync(Options(o => o.HeldBackWarning = TimeSpan.FromSeconds(1)), firstWait: Min, logger);

        await AdvanceAndWaitForTimerAsync(Min, Min * 2);
        await AdvanceAndWaitForTimerAsync(Min * 2, Min * 4);
        await AdvanceAndWaitForTimerAsync(Min * 4, Max);
        Warnings(logger).Should().BeEmpty("700 ms is under the 1 s threshold");
        _subscription!.HeldBackSeconds().Should().BeApproximately(0.7, 0.001, "the gauge reports the wait so far");

        await AdvanceAndWaitForTimerAsync(Max, Max);
        await AdvanceAndWaitForTimerAsync(Max, Max);
        Warnings(logger).Should().ContainSingle("one warning per episode, not one per poll")
            .Which.Should().Contain("pid 42 in database shop").And.Contain("behind an older transaction");

        _log.SetFence(102);
        await AdvanceAndWaitForTimerAsync(Max, Min);
        Received().Should().HaveCount(2, "the rows come through once the transaction ends");
        logger.Entries.Should().Contain(e => e.EventId.Id == 39, "the end of the episode is logged");
        _subscription.HeldBackSeconds().Should().Be(0);
    }

    private static List<string> Warnings(ListLogger<EventSubscription> logger) =>
        [.. logger.Entries.Where(e => e.EventId.Id == 38).Select(e => e.Message)];

    private static NpgsqlException Transient() => new("connection lost", new IOException("reset by peer"));

    private static EventSubscriptionOptions Options(Action<EventSubscriptionOptions>? configure = null)
    {
        var options = new EventSubscriptionOptions { MinPollInterval = Min, MaxPollInterval = Max };
        configure?.Invoke(options);
        return options;
    }

    private List<Event> Received()
    {
        using (_gate.EnterScope())
        {
            return [.. _received];
        }
    }

    // Starts reading and returns once the loop has armed its first timer of `firstWait`.
    private async Task StartAsync(EventSubscriptionOptions options, TimeSpan firstWait, ILogger<EventSubscription>? logger = null)
    {
        _subscription = new EventSubscription(_log, options, _scheduler, logger, reconnectJitter: 0);
        var armed = _scheduler.WhenScheduledAsync(firstWait);
        var subscription = _subscription;
        _reading = Task.Run(async () =>
        {
            await foreach (var e in subscription.ReadAsync(_stop.Token))
            {
                using (_gate.EnterScope())
                {
                    _received.Add(e);
                }
            }
        });
        await Task.WhenAny(armed, _reading).Unwrap().WaitAsync(WaitLimit);
    }

    private async Task AdvanceAndWaitForTimerAsync(TimeSpan by, TimeSpan nextTimer)
    {
        var armed = _scheduler.WhenScheduledAsync(nextTimer);
        _scheduler.AdvanceBy(by);
        await Task.WhenAny(armed, _reading!).Unwrap().WaitAsync(WaitLimit);
    }
}
