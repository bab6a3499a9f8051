using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;

namespace RxEventBus.Postgres.Tests;

// Awaitable persistence: PublishAsync completes when the event's batch committed, and fails with the outcome
// when the event will not be in the table.
[Collection(SharedPostgres.Name)]
public sealed class PublishAsyncTests(PostgresFixture database) : IAsyncLifetime
{
    private static readonly TimeSpan BatchDelay = TimeSpan.FromMinutes(1);
    private readonly ThreadSafeTestScheduler _scheduler = new();
    private readonly List<IAsyncDisposable> _cleanup = [];
    private string _schema = "";
    private EventBus _bus = null!;

    public async Task InitializeAsync()
    {
        _schema = await database.CreateSchemaAsync(nameof(PublishAsyncTests));
        _bus = new EventBus(new EventBusOptions { Topics = ["orders", "payments"], Scheduler = _scheduler });
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_cleanup);
        _bus.Dispose();
    }

    private PostgresConsumer Consumer(string table, Func<PostgresPersistenceOptions, PostgresPersistenceOptions>? tune = null)
    {
        var options = new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString,
            Schema = _schema,
            Table = table,
            MaxBatchSize = 10,
            MaxBatchDelay = BatchDelay,
            AutoDeleteWithTtl = false,
            Topics = ["orders"],
        };
        var consumer = new PostgresConsumer(_bus, tune?.Invoke(options) ?? options);
        _cleanup.Add(consumer);
        return consumer;
    }

    private static PostgresPersistenceOptions Unreachable(PostgresPersistenceOptions o, OverflowPolicy overflow = OverflowPolicy.Wait) => new()
    {
        ConnectionString = "Host=127.0.0.1;Port=1;Username=nobody;Timeout=1",
        Schema = o.Schema, Table = o.Table, MaxBatchSize = o.MaxBatchSize, MaxBatchDelay = o.MaxBatchDelay, AutoDeleteWithTtl = false,
        Topics = o.Topics, BufferSize = 1, Overflow = overflow, EnsureSchema = false, ShutdownTimeout = TimeSpan.FromHours(1),
    };

    private Task<long> CountRowsAsync(string table, Guid id) =>
        Sql.ScalarAsync<long>(database.ConnectionString, $"select count(*) from {_schema}.{table} where id = '{id}'");

    [Fact]
    public async Task PublishAsync_EventWaitingForItsBatch_CompletesOnlyOnceTheBatchCommitted()
    {
        var consumer = Consumer("awaited");
        await consumer.StartAsync();
        var batchDue = _scheduler.WhenScheduledAsync(BatchDelay);

        var persisted = consumer.PublishAsync("orders", new Order(1));
        await batchDue;

        // Not to order steps: real time passes while virtual time stands still, and nothing may complete meanwhile.
        await Task.Delay(200);

        persisted.IsCompleted.Should().BeFalse("the event is still in a batch that waits for its maximum delay");
        _scheduler.AdvanceBy(BatchDelay);
        var @event = await persisted.WaitAsync(TimeSpan.FromSeconds(30));

        (await CountRowsAsync("awaited", @event.Id)).Should().Be(1, "PublishAsync completes only when the row is committed");
    }

    [Fact]
    public async Task PublishAsync_EventDeadLettered_ThrowsNamingTheOutcomeAfterTheDeadLetterIsStored()
    {
        var consumer = Consumer("awaited_dead", o => new PostgresPersistenceOptions
        {
            ConnectionString = o.ConnectionString, Schema = o.Schema, Table = o.Table, MaxBatchSize = 1, MaxBatchDelay = o.MaxBatchDelay,
        });
        await consumer.StartAsync();
        var cyclic = new Node();
        cyclic.Next = cyclic;

        var act = () => consumer.PublishAsync("orders", cyclic).WaitAsync(TimeSpan.FromSeconds(30));

        var thrown = (await act.Should().ThrowAsync<EventNotPersistedException>()).Which;
        thrown.Outcome.Should().Be(PersistenceOutcome.DeadLettered);
        thrown.Message.Should().Contain("cannot be serialized");
        (await consumer.DeadLetterStore.FindAsync(thrown.EventId)).Should().NotBeNull("the outcome is settled once the dead letter is stored");
    }

    [Fact]
    public async Task PublishAsync_EventDroppedByTheOverflowPolicy_ThrowsDropped()
    {
        var consumer = Consumer("awaited_dropped", o => Unreachable(o, OverflowPolicy.DropOldest));
        await consumer.StartAsync();

        var first = consumer.PublishAsync("orders", new Order(1));
        _bus.Publish("orders", new Order(2));

        var thrown = (await first.Invoking(t => t.WaitAsync(TimeSpan.FromSeconds(30))).Should().ThrowAsync<EventNotPersistedException>()).Which;
        thrown.Outcome.Should().Be(PersistenceOutcome.Dropped, "the buffer of one made room for the newer event");
        await consumer.StopNowAsync();
    }

    [Fact]
    public async Task PublishAsync_ConsumerStopsBeforeWritingIt_ThrowsUnwritten()
    {
        var consumer = Consumer("awaited_unwritten", o => Unreachable(o));
        await consumer.StartAsync();
        var persisted = consumer.PublishAsync("orders", new Order(1));

        using (var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(1)))
        {
            await consumer.StopAsync(giveUp.Token);
        }

        var thrown = (await persisted.Invoking(t => t.WaitAsync(TimeSpan.FromSeconds(30))).Should().ThrowAsync<EventNotPersistedException>()).Which;
        thrown.Outcome.Should().Be(PersistenceOutcome.Unwritten);
        consumer.Unwritten.Select(e => e.Id).Should().Equal([thrown.EventId]);
    }

    [Fact]
    public async Task PublishAsync_TopicTheConsumerDoesNotPersist_ThrowsNotPersistedAndOtherSubscribersStillGetIt()
    {
        var consumer = Consumer("awaited_other");
        await consumer.StartAsync();
        var seen = new List<Event>();
        using var _ = _bus.Topic("payments").Subscribe(seen.Add);

        var act = () => consumer.PublishAsync("payments", new Order(1));

        var thrown = (await act.Should().ThrowAsync<EventNotPersistedException>()).Which;
        thrown.Outcome.Should().Be(PersistenceOutcome.NotPersisted);
        thrown.Message.Should().Contain("does not match its topics");
        seen.Should().ContainSingle("PublishAsync publishes on the bus like Publish");
    }

    [Fact]
    public async Task PublishAsync_WaitCancelled_StopsWaitingWhileTheEventIsStillPersisted()
    {
        var consumer = Consumer("awaited_cancelled");
        await consumer.StartAsync();
        var batchDue = _scheduler.WhenScheduledAsync(BatchDelay);
        using var cancel = new CancellationTokenSource();

        var @event = _bus.CreateEvent("orders", new Order(1));
        var persisted = consumer.PublishAsync(@event, cancel.Token);
        await batchDue;
        await cancel.CancelAsync();

        await persisted.Invoking(t => t.WaitAsync(TimeSpan.FromSeconds(30))).Should().ThrowAsync<OperationCanceledException>();
        _scheduler.AdvanceBy(BatchDelay);
        await consumer.StopWithinAsync();
        (await CountRowsAsync("awaited_cancelled", @event.Id)).Should().Be(1, "cancelling the wait does not unpublish the event");
    }

    [Fact]
    public async Task PublishAsync_IdAlreadyStoredForAnotherTopic_IsDeadLetteredNotCountedAsADuplicate()
    {
        var consumer = Consumer("same_id", o => new PostgresPersistenceOptions
        {
            ConnectionString = o.ConnectionString, Schema = o.Schema, Table = o.Table, MaxBatchSize = 1, MaxBatchDelay = o.MaxBatchDelay,
            AutoDeleteWithTtl = false,
        });
        await consumer.StartAsync();
        var order = await consumer.PublishAsync("orders", new Order(1)).WaitAsync(TimeSpan.FromSeconds(30));

        var act = () => consumer.PublishAsync(order with { Topic = "payments", Data = new Order(2) }).WaitAsync(TimeSpan.FromSeconds(30));

        var thrown = (await act.Should().ThrowAsync<EventNotPersistedException>()).Which;
        thrown.Outcome.Should().Be(PersistenceOutcome.DeadLettered, "a different event with a stored id cannot be in the table (one row per id)");
        thrown.Message.Should().Contain("already stored for an event of topic 'orders'");
        consumer.Statistics.Duplicates.Should().Be(0, "it is not the same event written twice");
        (await Sql.ScalarAsync<string>(database.ConnectionString, $"select topic from {_schema}.same_id where id = '{order.Id}'")).Should().Be("orders");
        (await consumer.DeadLetterStore.FindAsync(order.Id))!.Topic.Should().Be("payments");
    }

    [Fact]
    public async Task PublishAsync_SameIdOnAnotherTopicInABatchWhereOneIsRefused_TheOtherIsAcknowledged()
    {
        var consumer = Consumer("same_id_batch", o => new PostgresPersistenceOptions
        {
            ConnectionString = o.ConnectionString, Schema = o.Schema, Table = o.Table, MaxBatchSize = 2, MaxBatchDelay = o.MaxBatchDelay,
            AutoDeleteWithTtl = false,
        });
        await consumer.StartAsync();
        var refused = _bus.CreateEvent("orders", new Order(1)) with { Ttl = TimeSpan.MaxValue };

        var first = consumer.PublishAsync(refused);
        var second = consumer.PublishAsync(refused with { Topic = "payments", Ttl = null });

        await second.WaitAsync(TimeSpan.FromSeconds(30));
        (await first.Invoking(t => t.WaitAsync(TimeSpan.FromSeconds(30))).Should().ThrowAsync<EventNotPersistedException>())
            .Which.Outcome.Should().Be(PersistenceOutcome.DeadLettered);
        _bus.Diagnostics.PendingEvents.Should().Be(0, "the committed event is acknowledged although its id is also the refused one's");
    }

    private sealed record Order(int Number);

    private sealed class Node
    {
        public Node? Next { get; set; }
    }
}
