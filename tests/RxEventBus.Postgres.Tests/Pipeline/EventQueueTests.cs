using RxEventBus.Postgres.Pipeline;

namespace RxEventBus.Postgres.Tests.Pipeline;

public sealed class EventQueueTests : IDisposable
{
    private readonly EventBus _bus = new(new EventBusOptions { Topics = ["orders"] });
    private readonly List<(Guid Id, string Reason)> _dropped = [];
    private int _accepted;
    private EventQueue? _queue;
    private IDisposable? _subscription;

    private EventQueue Queue(int capacity, OverflowPolicy policy)
    {
        _queue = new EventQueue(capacity, policy, () => Interlocked.Increment(ref _accepted), (e, reason) =>
        {
            lock (_dropped)
            {
                _dropped.Add((e.Event.Id, reason));
            }

            e.TryMarkSkipped();
        });
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
        _dropped.Should().BeEmpty();
        _accepted.Should().Be(3);
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
        _dropped.Select(d => d.Id).Should().Equal([events[0].Id], "the oldest buffered event made room");
        _dropped[0].Reason.Should().Contain("DropOldest");
        _bus.FetchEvent("orders", events[0].Id).Should().BeNull("a dropped event is answered (skipped) on the bus, not left pending");
    }

    [Fact]
    public async Task OnNext_DropNewestAndFullBuffer_DropsTheNewEventAndReportsIt()
    {
        var queue = Queue(2, OverflowPolicy.DropNewest);
        var events = Enumerable.Range(1, 3).Select(i => _bus.Publish("orders", i)).ToList();

        (await ReadAsync(queue, 2)).Should().Equal(events[0].Id, events[1].Id);
        _dropped.Select(d => d.Id).Should().Equal([events[2].Id]);
        _dropped[0].Reason.Should().Contain("DropNewest");
        _accepted.Should().Be(2, "the dropped event was never accepted");
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
        _dropped.Should().BeEmpty("a refusal is the publisher's to handle, not a silent drop");
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

    public void Dispose()
    {
        _subscription?.Dispose();
        _bus.Diagnostics.LiveSubscriptions.Should().Be(0);
        _bus.Dispose();
    }
}
