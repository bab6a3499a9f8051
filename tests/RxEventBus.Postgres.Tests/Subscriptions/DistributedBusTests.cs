using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;

namespace RxEventBus.Postgres.Tests.Subscriptions;

// The distributed bus: a subscription attached to a bus publishes what other processes stored onto that bus's
// topics, for its own subscribers and tracked subscribers, and a persistence consumer on that bus writing to the
// same table does not store those events again. (Two buses in one process stand for two processes here; the
// real-process tests are in RxEventBus.Distributed.Tests.)
[Collection(SharedPostgres.Name)]
public sealed class DistributedBusTests(PostgresFixture fixture) : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _cleanup = [];
    private readonly List<IDisposable> _buses = [];
    private EventTable _table = null!;

    public async Task InitializeAsync() => _table = await TestEvents.CreateTableAsync(fixture, "dist");

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_cleanup);
        foreach (var bus in _buses)
        {
            bus.Dispose();
        }
    }

    [Fact]
    public async Task AttachTo_EventsStoredByAnotherBus_ReachThisBusSubscribersInOrderAndAreNotStoredAgain()
    {
        var (busA, consumerA) = await NodeAsync("a");
        var (busB, consumerB) = await NodeAsync("b");
        var plain = new List<Event>();
        var tracked = new List<Guid>();
        var gate = new Lock();
        using var plainSubscription = busB.Topic("orders").Subscribe(e => { using (gate.EnterScope()) { plain.Add(e); } });
        using var trackedSubscription = busB.Tracked("audit", "orders").Subscribe(t =>
        {
            using (gate.EnterScope())
            {
                tracked.Add(t.Event.Id);
            }

            t.MarkCompleted();
        });
        var subscription = new EventSubscription(fixture.DataSource, _table, new JsonEventSerializer(),
            new EventSubscriptionOptions { Topics = ["orders"], MinPollInterval = TimeSpan.FromMilliseconds(10), MaxPollInterval = TimeSpan.FromMilliseconds(50) });
        _cleanup.Add(subscription);
        using var attached = subscription.AttachTo(busB);

        var published = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            var e = busA.CreateEvent("orders", new { N = i });
            published.Add(e.Id);
            await consumerA.PublishAsync(e);
        }

        await Wait.UntilAsync(() => { using (gate.EnterScope()) { return plain.Count >= 5 && tracked.Count >= 5; } }, "B's subscribers got A's events");

        using (gate.EnterScope())
        {
            plain.Select(e => e.Id).Should().Equal(published, "in the order A stored them");
            plain.Should().OnlyContain(e => e.Topic == "orders");
            tracked.Should().Equal(published, "B's tracked subscribers get them too");
        }

        (await Sql.ScalarAsync<long>(fixture.ConnectionString, $"SELECT count(*) FROM {_table.QualifiedName}")).Should().Be(5, "each event is one row: B did not store them again");
        consumerB.Statistics.Received.Should().Be(0, "B's consumer passed over rows of its own table");
        busB.Pending("orders").Should().BeEmpty("B's consumer marked them skipped, so nothing waits on it");
    }

    [Fact]
    public async Task AttachTo_EventPublishedHereAndAnswered_ComesBackOnceThroughTheSubscriptionAndIsNotStoredAgain()
    {
        var (busB, consumerB) = await NodeAsync("b");
        var seen = new List<Guid>();
        var errors = new List<EventBusError>();
        var gate = new Lock();
        using var plainSubscription = busB.Topic("orders").Subscribe(e => { using (gate.EnterScope()) { seen.Add(e.Id); } });
        using var errorSubscription = busB.Errors.Subscribe(e => { using (gate.EnterScope()) { errors.Add(e); } });
        var local = busB.CreateEvent("orders", new { N = 1 });
        await consumerB.PublishAsync(local);
        await Wait.UntilAsync(() => busB.Pending("orders").Count == 0, "the consumer answered the event");

        var subscription = Subscription();
        using var attached = subscription.AttachTo(busB);
        await Wait.UntilAsync(() => { using (gate.EnterScope()) { return seen.Count >= 2; } }, "the local publish, then the row read back");
        attached.Dispose();
        await consumerB.StopWithinAsync();

        using (gate.EnterScope())
        {
            seen.Should().Equal([local.Id, local.Id], "published here once, and read back from the table once: at least once, per source");
            errors.Should().BeEmpty();
        }

        (await Sql.ScalarAsync<long>(fixture.ConnectionString, $"SELECT count(*) FROM {_table.QualifiedName}")).Should().Be(1);
        consumerB.Statistics.Received.Should().Be(1, "the event read back was passed over, not queued to be written a second time");
    }

    [Fact]
    public async Task AttachTo_EventStillPendingHere_IsPassedOverWithoutAnError()
    {
        var (busB, consumerB) = await NodeAsync("b");
        var errors = new List<EventBusError>();
        var gate = new Lock();
        using var errorSubscription = busB.Errors.Subscribe(e => { using (gate.EnterScope()) { errors.Add(e); } });

        // A tracked subscriber that never answers keeps the event pending on this bus.
        using var silent = busB.Tracked("silent", "orders").Subscribe(_ => { });
        var local = busB.CreateEvent("orders", new { N = 1 });
        await consumerB.PublishAsync(local);
        var after = busB.CreateEvent("orders", new { N = 2 });
        await consumerB.PublishAsync(after);
        busB.Pending("orders").Should().HaveCount(2);

        var seen = new List<Guid>();
        using var plainSubscription = busB.Topic("orders").Subscribe(e => { using (gate.EnterScope()) { seen.Add(e.Id); } });
        var subscription = Subscription();
        using var attached = subscription.AttachTo(busB);
        await Wait.UntilAsync(() => subscription.State == SubscriptionState.Live && subscription.Position is not null, "read both rows back");

        using (gate.EnterScope())
        {
            seen.Should().BeEmpty("both are still pending here: they are on this bus already");
            errors.Should().BeEmpty("passing them over is not a failure");
        }
    }

    private EventSubscription Subscription()
    {
        var subscription = new EventSubscription(fixture.DataSource, _table, new JsonEventSerializer(),
            new EventSubscriptionOptions { MinPollInterval = TimeSpan.FromMilliseconds(10), MaxPollInterval = TimeSpan.FromMilliseconds(50) });
        _cleanup.Add(subscription);
        return subscription;
    }

    private async Task<(EventBus Bus, PostgresConsumer Consumer)> NodeAsync(string name)
    {
        var bus = new EventBus(new EventBusOptions { Topics = ["orders", "other"] });
        _buses.Add(bus);
        var consumer = new PostgresConsumer(bus, new PostgresPersistenceOptions
        {
            ConnectionString = fixture.ConnectionString,
            Schema = _table.Schema,
            Table = _table.Table,
            SubscriberName = "persistence-" + name,
            MaxBatchDelay = TimeSpan.FromMilliseconds(10),
            AutoDeleteWithTtl = false,
        });
        _cleanup.Add(consumer);
        await consumer.StartAsync();
        return (bus, consumer);
    }
}
