using RxEventBus.Postgres.Pipeline;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Postgres.Tests.Pipeline;

public sealed class EventQueueTests : IDisposable
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMilliseconds(50);
    private readonly ThreadSafeTestScheduler _scheduler = new();
    private readonly EventBus _bus;
    private readonly Listener _listener = new();
    private EventQueue? _queue;
    private IDisposable? _subscription;

    public EventQueueTests() => _bus = new(new EventBusOptions { Topics = ["orders"], Scheduler = _scheduler });

    private EventQueue Queue(int capacity, OverflowPolicy policy)
    {
        _queue = new EventQueue(capacity, policy, PublishTimeout, _scheduler, _listener);
        _subscription = _bus.Tracked("postgres", "orders").Subscribe(_queue);
        return _queue;
    }

    private static async Task<List<Guid>> ReadAsync(EventQueue queue, int count)
    {
        var ids = new List<Guid>();
        await foreach (var item in queue.ReadAllAsync(CancellationToken.None).Take(count).WithCancellation(CancellationToken.None))
        {
            ids.Add(item.Event.Id);
        }

        return ids;
    }

    [Fact]
    public async Task OnNext_WaitPolicyAndFullBuffer_BlocksThePublisherUntilThereIsRoom()
    {
        var queue = Queue(2, OverflowPolicy.Wait);
        var first = _bus.Publish("orders", 1);
        _bus.Publish("orders", 2);

        var third = Task.Run(() => _bus.Publish("orders", 3));
        SpinWait.SpinUntil(() => queue.BlockedPublishers == 1, TimeSpan.FromSeconds(10)).Should().BeTrue("the third publisher should be waiting for room");
        third.IsCompleted.Should().BeFalse("a publisher blocked on a full buffer has not returned");

        (await ReadAsync(queue, 1)).Should().Equal([first.Id]);
        var published = await third.WaitAsync(TimeSpan.FromSeconds(10));

        (await ReadAsync(queue, 2)).Skip(1).Should().Equal([published.Id], "nothing is lost under Wait");
        _listener.Dropped.Should().BeEmpty();
        _listener.Accepted.Should().Be(3);
    }

    [Fact]
    public async Task OnNext_WaitPolicyAndFullBuffer_WakesThePublisherOnceHalfTheBufferIsFree()
    {
        var queue = Queue(10, OverflowPolicy.Wait);
        var ids = Enumerable.Range(0, 10).Select(i => _bus.Publish("orders", i).Id).ToList();
        var blocked = Task.Run(() => _bus.Publish("orders", 10));
        SpinWait.SpinUntil(() => queue.BlockedPublishers == 1, TimeSpan.FromSeconds(10)).Should().BeTrue();

        (await ReadAsync(queue, 4)).Should().Equal(ids.Take(4));
        await Task.Delay(100);
        blocked.IsCompleted.Should().BeFalse("with 6 of 10 places taken, waking the publisher would only let it add one and block again");
        queue.Count.Should().Be(6);

        (await ReadAsync(queue, 1)).Should().Equal(ids.Skip(4).Take(1));
        var published = await blocked.WaitAsync(TimeSpan.FromSeconds(10));

        (await ReadAsync(queue, 6)).Should().Equal([.. ids.Skip(5), published.Id], "woken at half, the publisher adds its event last, nothing lost");
    }

    [Fact]
    public async Task OnNext_DropOldestAndFullBuffer_DropsTheOldestAndReportsIt()
    {
        var queue = Queue(2, OverflowPolicy.DropOldest);
        var events = Enumerable.Range(1, 3).Select(i => _bus.Publish("orders", i)).ToList();

        (await ReadAsync(queue, 2)).Should().Equal(events[1].Id, events[2].Id);
        _listener.Dropped.Select(d => d.Id).Should().Equal([events[0].Id], "the oldest buffered event made room");
        _listener.Dropped[0].Reason.Should().Contain("DropOldest");
        _bus.FetchEvent("orders", events[0].Id).Should().BeNull("a dropped event is answered (skipped) on the bus, not left pending");
    }

    [Fact]
    public async Task OnNext_DropNewestAndFullBuffer_DropsTheNewEventAndReportsIt()
    {
        var queue = Queue(2, OverflowPolicy.DropNewest);
        var events = Enumerable.Range(1, 3).Select(i => _bus.Publish("orders", i)).ToList();

        (await ReadAsync(queue, 2)).Should().Equal(events[0].Id, events[1].Id);
        _listener.Dropped.Select(d => d.Id).Should().Equal([events[2].Id]);
        _listener.Dropped[0].Reason.Should().Contain("DropNewest");
        _listener.Accepted.Should().Be(2, "the dropped event was never accepted");
        _bus.Diagnostics.PendingEvents.Should().Be(2, "only the two buffered events are still owed");
    }

    [Fact]
    public void OnNext_FailPolicyAndFullBuffer_ThrowsToThePublisherAndKeepsNothingPending()
    {
        Queue(2, OverflowPolicy.Fail);
        _bus.Publish("orders", 1);
        _bus.Publish("orders", 2);

        var act = () => _bus.Publish("orders", 3);

        act.Should().Throw<EventRejectedException>().WithMessage("*buffer is full (2 events)*Fail*");
        _bus.Diagnostics.PendingEvents.Should().Be(2, "the refused event counts as skipped, so the bus does not hold it");
        _listener.Dropped.Should().BeEmpty("a refusal is the publisher's to handle, not a silent drop");
    }

    [Fact]
    public async Task Complete_PublisherWaitingForRoom_GetsAClearRejection()
    {
        var queue = Queue(1, OverflowPolicy.Wait);
        _bus.Publish("orders", 1);
        var blocked = Task.Run(() => _bus.Publish("orders", 2));
        SpinWait.SpinUntil(() => queue.BlockedPublishers == 1, TimeSpan.FromSeconds(10)).Should().BeTrue();

        queue.Complete();

        await blocked.Invoking(t => t.WaitAsync(TimeSpan.FromSeconds(10)))
            .Should().ThrowAsync<EventRejectedException>().WithMessage("*stopping*");
    }

    [Fact]
    public async Task Complete_WithBufferedEvents_ReadsThemThenEndsAndRefusesNewOnes()
    {
        var queue = Queue(10, OverflowPolicy.Wait);
        var first = _bus.Publish("orders", 1);
        var second = _bus.Publish("orders", 2);

        queue.Complete();

        _bus.Invoking(b => b.Publish("orders", 3)).Should().Throw<EventRejectedException>();
        var read = new List<Guid>();
        await foreach (var item in queue.ReadAllAsync(CancellationToken.None))
        {
            read.Add(item.Event.Id);
        }

        read.Should().Equal([first.Id, second.Id], "what was accepted before the stop is still drained");
    }

    [Fact]
    public async Task OnNext_WaitPolicyAndBufferFullForThePublishTimeout_RefusesThePublisherOnTheSchedulersClock()
    {
        var queue = Queue(1, OverflowPolicy.Wait);
        _bus.Publish("orders", 1);
        var timerArmed = _scheduler.WhenScheduledAsync(PublishTimeout);
        var blocked = Task.Run(() => _bus.Publish("orders", 2));
        await timerArmed;

        // Real time passes, virtual time does not: a timeout measured on a real clock would have fired by now.
        await Task.Delay(PublishTimeout * 6);
        blocked.IsCompleted.Should().BeFalse("the publish timeout is measured on the bus's scheduler, which has not moved");
        queue.BlockedPublishers.Should().Be(1);

        _scheduler.AdvanceBy(PublishTimeout);

        await blocked.Invoking(t => t.WaitAsync(TimeSpan.FromSeconds(10)))
            .Should().ThrowAsync<EventRejectedException>().WithMessage("*stayed full (1 events) for the publish timeout*");
        _listener.Refused.Should().ContainSingle().Which.Reason.Should().Contain("publish timeout");
        _bus.Diagnostics.PendingEvents.Should().Be(1, "the refused event is skipped on the bus; only the buffered one is owed");
        queue.Count.Should().Be(1);
    }

    [Fact]
    public async Task OnNext_WaitPolicyRoomBeforeTheTimeout_AcceptsTheEventAndCancelsTheTimer()
    {
        var queue = Queue(1, OverflowPolicy.Wait);
        var first = _bus.Publish("orders", 1);
        var timerArmed = _scheduler.WhenScheduledAsync(PublishTimeout);
        var blocked = Task.Run(() => _bus.Publish("orders", 2));
        await timerArmed;

        (await ReadAsync(queue, 1)).Should().Equal([first.Id]);
        var second = await blocked.WaitAsync(TimeSpan.FromSeconds(10));
        _scheduler.AdvanceBy(PublishTimeout * 2);

        (await ReadAsync(queue, 1)).Should().Equal([second.Id], "room came before the timeout, so the event was accepted");
        _listener.Refused.Should().BeEmpty("the timer was cancelled once the publisher got room");
    }

    [Fact]
    public void OnError_BusEndsTheSubscriptionWithAnError_RefusesNewEventsAndTellsTheListener()
    {
        var queue = Queue(10, OverflowPolicy.Wait);
        var boom = new InvalidOperationException("pattern timed out");

        queue.OnError(boom);

        _listener.Ended.Should().ContainSingle().Which.Should().BeSameAs(boom, "the consumer must learn that its subscription is gone");
        _bus.Invoking(b => b.Publish("orders", 1)).Should().Throw<EventRejectedException>()
            .WithMessage("*subscription to the bus ended with an error: pattern timed out*");
    }

    [Fact]
    public void OnCompleted_BusDisposed_TellsTheListenerWithoutAnError()
    {
        Queue(10, OverflowPolicy.Wait);

        _bus.Dispose();

        _listener.Ended.Should().Equal([null], "a completed subscription is reported too, as an end without error");
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        _bus.Diagnostics.LiveSubscriptions.Should().Be(0);
        _bus.Dispose();
    }

    private sealed class Listener : IQueueListener
    {
        private int _accepted;

        internal int Accepted => Volatile.Read(ref _accepted);

        internal List<(Guid Id, string Reason)> Dropped { get; } = [];

        internal List<(Guid Id, string Reason)> Refused { get; } = [];

        internal List<Exception?> Ended { get; } = [];

        void IQueueListener.Accepted(TrackedEvent delivery) => Interlocked.Increment(ref _accepted);

        void IQueueListener.Dropped(TrackedEvent delivery, string reason)
        {
            lock (Dropped)
            {
                Dropped.Add((delivery.Event.Id, reason));
            }

            delivery.TryMarkSkipped();
        }

        void IQueueListener.Refused(TrackedEvent delivery, string reason)
        {
            lock (Refused)
            {
                Refused.Add((delivery.Event.Id, reason));
            }
        }

        void IQueueListener.Ended(Exception? error)
        {
            lock (Ended)
            {
                Ended.Add(error);
            }
        }
    }
}
