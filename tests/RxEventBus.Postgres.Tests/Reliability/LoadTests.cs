using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;

namespace RxEventBus.Postgres.Tests.Reliability;

[Collection(SharedPostgres.Name)]
public sealed class LoadTests(PostgresFixture database) : IAsyncLifetime
{
    private const int Publishers = 8;
    private const int PerPublisher = 100_000;
    private static readonly string[] Topics = ["orders", "payments", "refunds", "audit"];
    private string _schema = "";

    public async Task InitializeAsync() => _schema = await database.CreateSchemaAsync(nameof(LoadTests));

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Publish_EightThreadsWithEveryKindOfSubscriber_ExactCountsNoOverlapNothingLeft()
    {
        var bus = new EventBus(new EventBusOptions { Topics = Topics });
        var consumer = new PostgresConsumer(bus, new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString,
            Schema = _schema,
            Table = "load",
            MaxBatchSize = 5_000,
            BufferSize = 20_000,
            PoolSize = 2,
            MaxBatchDelay = TimeSpan.FromMilliseconds(20),
        });
        await consumer.StartAsync();

        var perTopic = Topics.ToDictionary(t => t, _ => new SynchronizationValidatingObserver<Event>(spinIterations: 0));
        var everything = new SynchronizationValidatingObserver<Event>(spinIterations: 0);
        var tracked = new SynchronizationValidatingObserver<TrackedEvent>(spinIterations: 0);
        var subscriptions = Topics.Select(t => bus.Topic(t).Subscribe(perTopic[t])).ToList();
        subscriptions.Add(bus.Match(".*").Subscribe(everything));
        subscriptions.Add(bus.Tracked("audit", "^(orders|payments)$").Subscribe(new AnsweringObserver(tracked)));

        using var start = new Barrier(Publishers);
        var publishers = Enumerable.Range(0, Publishers).Select(p => Task.Run(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < PerPublisher; i++)
            {
                bus.Publish(Topics[(p + i) % Topics.Length], new { Publisher = p, Number = i });
            }
        })).ToArray();
        await Task.WhenAll(publishers).WaitAsync(TimeSpan.FromMinutes(5));
        await consumer.StopWithinAsync();

        const int total = Publishers * PerPublisher;
        perTopic.Values.Sum(o => o.Items.Count).Should().Be(total, "each event reached its topic's subscriber once");
        perTopic.Values.Should().OnlyContain(o => o.Items.Count == total / Topics.Length);
        everything.Items.Should().HaveCount(total);
        tracked.Items.Should().HaveCount(total / 2, "the tracked subscriber takes two of the four topics");
        perTopic.Values.Append(everything).Sum(o => o.Overlaps).Should().Be(0, "no observer ever got two OnNext at once");
        tracked.Overlaps.Should().Be(0);
        consumer.Statistics.Persisted.Should().Be(total);
        (await Sql.ScalarAsync<long>(database.ConnectionString, $"select count(distinct id) from {_schema}.load")).Should().Be(total);
        bus.Diagnostics.PendingEvents.Should().Be(0, "the consumer and the tracked subscriber answered everything");
        foreach (var topic in Topics)
        {
            bus.Pending(topic).Should().BeEmpty();
        }

        subscriptions.ForEach(s => s.Dispose());
        await consumer.DisposeAsync();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0, "every subscription, the consumer's included, is gone");
        bus.Dispose();
    }

    // A tracked subscriber that answers at once, recording through the validating observer.
    private sealed class AnsweringObserver(SynchronizationValidatingObserver<TrackedEvent> record) : IObserver<TrackedEvent>
    {
        public void OnNext(TrackedEvent value)
        {
            record.OnNext(value);
            value.MarkCompleted();
        }

        public void OnError(Exception error) => record.OnError(error);

        public void OnCompleted() => record.OnCompleted();
    }
}
