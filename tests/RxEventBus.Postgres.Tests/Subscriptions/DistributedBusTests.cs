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

    public async Task InitializeAsync() => _table = await LogTables.CreateAsync(fixture, "dist");

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
    public async Task AttachTo_EventsPublishedOnThisBus_AreStoredOnceAndComeBackOnlyThroughTheSubscription()
    {
        var (busB, consumerB) = await NodeAsync("b");
        var seen = new List<Guid>();
        var gate = new Lock();
        using var plainSubscription = busB.Topic("orders").Subscribe(e => { using (gate.EnterScope()) { seen.Add(e.Id); } });
        var subscription = new EventSubscription(fixture.DataSource, _table, new JsonEventSerializer(),
            new EventSubscriptionOptions { MinPollInterval = TimeSpan.FromMilliseconds(10), MaxPollInterval = TimeSpan.FromMilliseconds(50) });
        _cleanup.Add(subscription);
        using var attached = subscription.AttachTo(busB);

        var local = busB.CreateEvent("orders", new { N = 1 });
        await consumerB.PublishAsync(local);
        await Wait.UntilAsync(() => { using (gate.EnterScope()) { return seen.Count >= 2; } }, "the local publish, then the row read back");

        using (gate.EnterScope())
        {
            seen.Should().Equal([local.Id, local.Id], "published here once, and read back from the table once: the delivery semantics are at least once, per source");
        }

        attached.Dispose();
        await consumerB.StopWithinAsync();
        (await Sql.ScalarAsync<long>(fixture.ConnectionString, $"SELECT count(*) FROM {_table.QualifiedName}")).Should().Be(1);
        consumerB.Statistics.Received.Should().Be(1, "the event read back was passed over, not queued to be written a second time");
        consumerB.Statistics.Persisted.Should().Be(1);
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
