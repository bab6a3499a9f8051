using System.Text.Json;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;

namespace RxEventBus.Postgres.Tests;

// Dead letters are stored, not only reported: each one is in the dead-letter table beside the events table
// whether or not anyone observed it, and can be listed, replayed and purged.
[Collection(SharedPostgres.Name)]
public sealed class DeadLetterStoreTests(PostgresFixture database) : IAsyncLifetime
{
    private readonly ThreadSafeTestScheduler _scheduler = new();
    private readonly List<IAsyncDisposable> _cleanup = [];
    private string _schema = "";
    private EventBus _bus = null!;

    public async Task InitializeAsync()
    {
        _schema = await database.CreateSchemaAsync(nameof(DeadLetterStoreTests));
        _bus = new EventBus(new EventBusOptions { Topics = ["orders", "refunds"], Scheduler = _scheduler });
        _scheduler.AdvanceBy(TimeSpan.FromDays(365 * 2025));
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_cleanup);
        _bus.Dispose();
    }

    private async Task<PostgresConsumer> StartAsync(string table, string? constraint = null)
    {
        var consumer = new PostgresConsumer(_bus, new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString,
            Schema = _schema,
            Table = table,
            MaxBatchSize = 1,
            MaxBatchDelay = TimeSpan.FromHours(1),
            AutoDeleteWithTtl = false,
            Serializer = new JsonEventSerializer().MapTopic<Order>("orders").MapTopic<Order>("refunds"),
            PayloadType = PayloadType.Jsonb, // the check constraints below look inside the payload
        });
        _cleanup.Add(consumer);
        await SchemaManager.EnsureSchemaAsync(database.DataSource, consumer.Table);
        if (constraint is not null)
        {
            await ExecuteAsync($"alter table {_schema}.{table} add constraint refused check ({constraint})");
        }

        await consumer.StartAsync();
        return consumer;
    }

    private Task ExecuteAsync(string sql) => Sql.ExecuteAsync(database.ConnectionString, sql);

    private Task<long> CountRowsAsync(string table, Guid id) =>
        Sql.ScalarAsync<long>(database.ConnectionString, $"select count(*) from {_schema}.{table} where id = '{id}'");

    [Fact]
    public async Task DeadLetter_PayloadCannotBeSerialized_IsStoredWithTheReasonEvenWithNobodyObserving()
    {
        var consumer = await StartAsync("unserializable");
        var cyclic = new Node();
        cyclic.Next = cyclic;

        var @event = _bus.CreateEvent("orders", cyclic) with { Source = "shop", TransactionId = Guid.NewGuid() };
        _bus.Publish(@event);
        await consumer.StopWithinAsync();

        var stored = await consumer.DeadLetterStore.FindAsync(@event.Id);
        stored.Should().NotBeNull("a dead letter is stored, not only announced to whoever is listening");
        stored!.Topic.Should().Be("orders");
        stored.TransactionId.Should().Be(@event.TransactionId);
        stored.Source.Should().Be("shop");
        stored.Data.Should().BeNull("the payload could not be made into JSON");
        stored.DataType.Should().Be(typeof(Node).FullName);
        stored.ErrorType.Should().Be(typeof(JsonException).FullName);
        stored.Reason.Should().Contain("cannot be serialized");
        stored.Attempts.Should().Be(1);
        stored.FirstFailedAt.Should().Be(_scheduler.Now, "times come from the bus's scheduler");
        stored.LastFailedAt.Should().Be(stored.FirstFailedAt);
        (await consumer.DeadLetterStore.CountAsync()).Should().Be(1);
        consumer.Statistics.DeadLettered.Should().Be(1);
    }

    [Fact]
    public async Task DeadLetter_RowRefusedByTheTable_IsStoredWithItsJsonAndSqlState()
    {
        var consumer = await StartAsync("checked", "(data->>'Number')::int <> 13");

        var @event = _bus.Publish("orders", new Order(13));
        await consumer.StopWithinAsync();

        var stored = (await consumer.DeadLetterStore.FindAsync(@event.Id))!;
        stored.ErrorType.Should().Be("23514", "a CHECK violation");
        JsonDocument.Parse(stored.Data!).RootElement.GetProperty("Number").GetInt32().Should().Be(13, "the JSON as it was made is kept");
        stored.Reason.Should().Contain("refused");
    }

    [Fact]
    public async Task DeadLetter_NulInSource_IsStoredWithTheCharacterReplaced()
    {
        var consumer = await StartAsync("nul_source");

        var @event = _bus.CreateEvent("orders", new Order(1)) with { Source = "a\0b" };
        _bus.Publish(@event);
        await consumer.StopWithinAsync();

        var stored = (await consumer.DeadLetterStore.FindAsync(@event.Id))!;
        stored.Source.Should().Be("a\uFFFDb", "text PostgreSQL cannot hold is stored with U+FFFD in its place");
        stored.ErrorType.Should().Be("22021");
    }

    [Fact]
    public async Task ReplayToTableAsync_CauseFixed_WritesTheEventAndRemovesTheDeadLetter()
    {
        using var recorder = new InstrumentRecorder(_schema, "replayed");
        var consumer = await StartAsync("replayed", "(data->>'Number')::int <> 13");
        var @event = _bus.CreateEvent("orders", new Order(13)) with { Ttl = TimeSpan.FromMinutes(5) };
        _bus.Publish(@event);
        await consumer.StopWithinAsync();
        await ExecuteAsync($"alter table {_schema}.replayed drop constraint refused");

        var replay = await consumer.DeadLetterStore.ReplayToTableAsync(@event.Id, TimeSpan.FromMinutes(15));

        replay.Outcome.Should().Be(DeadLetterReplayOutcome.Replayed);
        (await consumer.Store.FindAsync(@event.Id)).Should().Be(@event, "the event is stored as it was published");
        (await Sql.ScalarAsync<bool>(database.ConnectionString,
            $"select expires_at = occurred_at + interval '5 minutes' from {_schema}.replayed where id = '{@event.Id}'")).Should().BeTrue();
        (await consumer.DeadLetterStore.FindAsync(@event.Id)).Should().BeNull("a replayed dead letter is removed");
        (await consumer.DeadLetterStore.ReplayToTableAsync(@event.Id, TimeSpan.FromMinutes(15))).Outcome.Should().Be(DeadLetterReplayOutcome.NotFound);
        recorder.Sum("rxeventbus.events.dead_lettered").Should().Be(1);
        recorder.Sum("rxeventbus.dead_letters.replayed").Should().Be(1);
    }

    [Fact]
    public async Task ReplayToTableAsync_StillRefused_KeepsTheDeadLetterWithOneMoreAttempt()
    {
        var consumer = await StartAsync("refused_again", "(data->>'Number')::int <> 13");
        var @event = _bus.Publish("orders", new Order(13));
        await consumer.StopWithinAsync();
        _scheduler.AdvanceBy(TimeSpan.FromMinutes(3));

        var replay = await consumer.DeadLetterStore.ReplayToTableAsync(@event.Id, TimeSpan.FromMinutes(15));

        replay.Outcome.Should().Be(DeadLetterReplayOutcome.FailedAgain);
        replay.Reason.Should().Contain("23514");
        var stored = (await consumer.DeadLetterStore.FindAsync(@event.Id))!;
        stored.Attempts.Should().Be(2);
        stored.LastFailedAt.Should().Be(stored.FirstFailedAt + TimeSpan.FromMinutes(3));
        stored.Reason.Should().StartWith("Replay failed");
        (await CountRowsAsync("refused_again", @event.Id)).Should().Be(0);
    }

    [Fact]
    public async Task ReplayDeadLetterAsync_ThroughTheBus_OtherSubscribersSeeItAndItIsStored()
    {
        var consumer = await StartAsync("through_bus", "(data->>'Number')::int <> 13");
        var @event = _bus.Publish("orders", new Order(13));
        await Wait.UntilAsync(() => consumer.Statistics.DeadLettered == 1, "the event is dead-lettered first");
        await ExecuteAsync($"alter table {_schema}.through_bus drop constraint refused");
        var seen = new List<Event>();
        using var _ = _bus.Topic("orders").Subscribe(seen.Add);

        var replay = await consumer.ReplayDeadLetterAsync(@event.Id).WaitAsync(TimeSpan.FromSeconds(30));

        replay.Outcome.Should().Be(DeadLetterReplayOutcome.Replayed);
        seen.Should().ContainSingle().Which.Should().Be(@event, "the event is rebuilt as it was and published again");
        (await CountRowsAsync("through_bus", @event.Id)).Should().Be(1);
        (await consumer.DeadLetterStore.FindAsync(@event.Id)).Should().BeNull();
    }

    [Fact]
    public async Task ReplayDeadLetterAsync_StillRefused_FailsAgainAndCountsTheAttempt()
    {
        var consumer = await StartAsync("bus_refused_again", "(data->>'Number')::int <> 13");
        var @event = _bus.Publish("orders", new Order(13));
        await Wait.UntilAsync(() => consumer.Statistics.DeadLettered == 1, "the event is dead-lettered first");

        var replay = await consumer.ReplayDeadLetterAsync(@event.Id).WaitAsync(TimeSpan.FromSeconds(30));

        replay.Outcome.Should().Be(DeadLetterReplayOutcome.FailedAgain);
        (await consumer.DeadLetterStore.FindAsync(@event.Id))!.Attempts.Should().Be(2, "the second failure was stored on the same dead letter");
    }

    [Fact]
    public async Task ListCountAndPurge_SeveralDeadLetters_NewestFirstByTopicAndPurgedByIdOrAge()
    {
        var consumer = await StartAsync("listed", "(data->>'Number')::int >= 0");
        var events = new List<Event>();
        foreach (var (topic, n) in new[] { ("orders", -1), ("refunds", -2), ("orders", -3) })
        {
            events.Add(_bus.Publish(topic, new Order(n)));
            var count = events.Count;
            await Wait.UntilAsync(() => consumer.Statistics.DeadLettered == count, "each dead letter is stored in turn");
            _scheduler.AdvanceBy(TimeSpan.FromMinutes(1));
        }

        var store = consumer.DeadLetterStore;
        (await store.ListAsync()).Select(d => d.Id).Should().Equal([events[2].Id, events[1].Id, events[0].Id], "most recently failed first");
        (await store.ListAsync(page: 2, perPage: 2)).Select(d => d.Id).Should().Equal([events[0].Id]);
        (await store.ListAsync(topic: "orders")).Select(d => d.Id).Should().Equal([events[2].Id, events[0].Id]);
        (await store.CountAsync("refunds")).Should().Be(1);

        (await store.PurgeAsync(events[1].Id)).Should().BeTrue();
        (await store.PurgeAsync(events[1].Id)).Should().BeFalse("it is gone");
        var second = (await store.FindAsync(events[2].Id))!.LastFailedAt;
        (await store.PurgeAllAsync(before: second)).Should().Be(1, "only the one that failed before the third");
        (await store.ListAsync()).Select(d => d.Id).Should().Equal([events[2].Id]);
        (await store.PurgeAllAsync()).Should().Be(1);
        (await store.CountAsync()).Should().Be(0);
    }

    private sealed record Order(int Number);

    private sealed class Node
    {
        public Node? Next { get; set; }
    }
}
