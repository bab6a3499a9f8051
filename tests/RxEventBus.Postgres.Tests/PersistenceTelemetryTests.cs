using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;

namespace RxEventBus.Postgres.Tests;

// The persistence consumer's instruments and spans, read with MeterListener and ActivityListener as a
// collector would. Each test writes its own table, and the recorder keeps only what is tagged with it.
[Collection(SharedPostgres.Name)]
#pragma warning disable CA1001 // The bus is disposed in IAsyncLifetime.DisposeAsync, xunit's teardown.
public sealed class PersistenceTelemetryTests(PostgresFixture database) : IAsyncLifetime
#pragma warning restore CA1001
{
    private readonly ThreadSafeTestScheduler _scheduler = new();
    private readonly List<IAsyncDisposable> _cleanup = [];
    private readonly List<IDisposable> _recorders = [];
    private string _schema = "";
    private EventBus _bus = null!;

    public async Task InitializeAsync()
    {
        _schema = await database.CreateSchemaAsync(nameof(PersistenceTelemetryTests));
        _bus = new EventBus(new EventBusOptions { Topics = ["orders", "poison"], Scheduler = _scheduler });
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_cleanup);

        _recorders.ForEach(r => r.Dispose());
        _bus.Dispose();
    }

    private (PostgresConsumer Consumer, InstrumentRecorder Recorder) Consumer(
        string table, int maxBatchSize, int bufferSize = 1_000, OverflowPolicy overflow = OverflowPolicy.Wait, TimeSpan? retryDelay = null)
    {
        var recorder = new InstrumentRecorder(_schema, table);
        _recorders.Add(recorder);
        var consumer = new PostgresConsumer(_bus, new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString,
            Schema = _schema,
            Table = table,
            MaxBatchSize = maxBatchSize,
            PoolSize = 1, // one writer: the tests follow batches in the order they were cut, and one held batch stops all writing
            BufferSize = bufferSize,
            Overflow = overflow,
            MaxBatchDelay = TimeSpan.FromHours(1),
            InitialRetryDelay = retryDelay ?? TimeSpan.FromMilliseconds(100),
            MaxRetryDelay = TimeSpan.FromHours(2),
            RetryJitter = 0, // the tests wait for, and trace, the exact backoff delays
            ShutdownTimeout = TimeSpan.FromMinutes(1),
        });
        _cleanup.Add(consumer);
        return (consumer, recorder);
    }

    // While the gate says closed, every insert into the table fails with 57P03 (cannot connect now), a
    // transient error: the batch is kept and retried.
    private Task CloseGateAsync(string table) => Sql.ExecuteAsync(database.ConnectionString, $"""
        create table {_schema}.{table}_gate (closed boolean);
        insert into {_schema}.{table}_gate values (true);
        create function {_schema}.{table}_refuse() returns trigger language plpgsql as $$
        begin
          if (select closed from {_schema}.{table}_gate) then
            raise exception 'closed for the test' using errcode = '57P03';
          end if;
          return new;
        end $$;
        create trigger refuse before insert on {_schema}.{table} for each row execute function {_schema}.{table}_refuse();
        """);

    private Task OpenGateAsync(string table) => Sql.ExecuteAsync(database.ConnectionString, $"update {_schema}.{table}_gate set closed = false");


    [Fact]
    public async Task Write_ThreeBatches_CountsPersistedEventsBatchSizesCopyDurationsAndOneSpanEach()
    {
        var (consumer, recorded) = Consumer("written", maxBatchSize: 10);
        await consumer.StartAsync();

        Enumerable.Range(0, 25).ToList().ForEach(i => _bus.Publish("orders", new Order(i)));
        await consumer.StopWithinAsync();

        recorded.Of("rxeventbus.events.persisted").Should().OnlyContain(m => m.Unit == "{event}");
        recorded.Sum("rxeventbus.events.persisted").Should().Be(25, "every committed event is counted once");
        recorded.Of("rxeventbus.batch.size").Select(m => m.Value).Should().Equal([10, 10, 5],
            "two batches are cut by count and the last partial one by the stop");
        recorded.Of("rxeventbus.copy.duration").Should().HaveCount(3, "each batch took one COPY")
            .And.OnlyContain(m => m.Unit == "s" && m.Value >= 0 && (string?)m.Tags["outcome"] == "committed");
        recorded.Of("rxeventbus.events.dropped").Should().BeEmpty();
        recorded.Of("rxeventbus.batches.retried").Should().BeEmpty();

        var spans = recorded.Activities.ToList();
        spans.Should().HaveCount(3, "each batch write is one span");
        spans.Should().OnlyContain(a => a.OperationName == "rxeventbus.batch.write"
            && a.Kind == ActivityKind.Internal
            && a.Status == ActivityStatusCode.Ok
            && (string?)a.GetTagItem("db.system.name") == "postgresql"
            && (string?)a.GetTagItem("rxeventbus.batch.outcome") == "committed"
            && (int?)a.GetTagItem("rxeventbus.batch.attempts") == 1);
        spans.Select(a => (int?)a.GetTagItem("rxeventbus.batch.size")).Should().Equal([10, 10, 5]);
    }

    [Fact]
    public async Task Write_TransientFailureThenSuccess_CountsTheRetryAndTracesBothAttempts()
    {
        var (consumer, recorded) = Consumer("retried", maxBatchSize: 3, retryDelay: TimeSpan.FromSeconds(1));
        await consumer.StartAsync();
        await CloseGateAsync("retried");
        var retryArmed = _scheduler.WhenScheduledAsync(TimeSpan.FromSeconds(1));

        Enumerable.Range(0, 3).ToList().ForEach(i => _bus.Publish("orders", new Order(i)));
        await retryArmed;
        await OpenGateAsync("retried");
        _scheduler.AdvanceBy(TimeSpan.FromSeconds(1));
        await Wait.UntilAsync(() => !recorded.Activities.IsEmpty, "the span ends when the retried batch commits");

        recorded.Sum("rxeventbus.batches.retried").Should().Be(1).And.Be(consumer.Statistics.Retries);
        recorded.Of("rxeventbus.batches.retried").Should().OnlyContain(m => m.Unit == "{batch}");
        recorded.Of("rxeventbus.copy.duration").Select(m => ((string?)m.Tags["outcome"], m.Tags.GetValueOrDefault("error.type") as string))
            .Should().Equal([("failed", "57P03"), ("committed", null)], "each attempt is timed, a failed one with its SQLSTATE");
        recorded.Sum("rxeventbus.events.persisted").Should().Be(3);

        var span = recorded.Activities.Should().ContainSingle().Subject;
        span.GetTagItem("rxeventbus.batch.attempts").Should().Be(2);
        span.GetTagItem("rxeventbus.batch.outcome").Should().Be("committed");
        var retry = span.Events.Should().ContainSingle("one retry was made").Subject;
        retry.Name.Should().Be("rxeventbus.batch.retry");
        retry.Tags.Should().Contain(new KeyValuePair<string, object?>("error.type", "57P03"))
            .And.Contain(new KeyValuePair<string, object?>("rxeventbus.retry.delay_ms", 1_000.0));
    }

    [Fact]
    public async Task Write_RefusedRowAndUnserializablePayload_CountsBothDeadLetters()
    {
        var (consumer, recorded) = Consumer("dead", maxBatchSize: 100);
        await consumer.StartAsync();
        await Sql.ExecuteAsync(database.ConnectionString, $"alter table {_schema}.dead add constraint no_poison check (topic <> 'poison')");
        var cyclic = new Node();
        cyclic.Next = cyclic;

        _bus.Publish("orders", new Order(1));
        _bus.Publish("poison", new Order(2));
        _bus.Publish("orders", cyclic);
        _bus.Publish("orders", new Order(3));
        await consumer.StopWithinAsync();

        recorded.Sum("rxeventbus.events.dead_lettered").Should().Be(2, "the refused row and the payload that cannot be serialized")
            .And.Be(consumer.Statistics.DeadLettered);
        recorded.Sum("rxeventbus.events.persisted").Should().Be(2);
        var span = recorded.Activities.Should().ContainSingle("the three serializable events are one batch write").Subject;
        span.GetTagItem("rxeventbus.batch.size").Should().Be(3);
        span.GetTagItem("rxeventbus.batch.dead_lettered").Should().Be(1);
        span.GetTagItem("rxeventbus.batch.outcome").Should().Be("partially_committed");
    }

    [Fact]
    public async Task Publish_BufferFullUnderDropNewest_CountsDropsAndReportsTheQueueDepthUntilDisposed()
    {
        var (consumer, recorded) = Consumer("dropped", maxBatchSize: 1, bufferSize: 2, overflow: OverflowPolicy.DropNewest,
            retryDelay: TimeSpan.FromMinutes(90));
        await consumer.StartAsync();
        await CloseGateAsync("dropped");
        // Not the hour of MaxBatchDelay: a batch's deadline must not pass for the armed retry.
        var retryArmed = _scheduler.WhenScheduledAsync(TimeSpan.FromMinutes(90));
        _bus.Publish("orders", new Order(0));
        await retryArmed; // the writer holds the first event, waiting 90 minutes to retry: nothing leaves the buffer

        // The next two fill the pipeline behind the writer (one batch cut ahead, one waiting for room); once
        // they have left the buffer, nothing else does.
        _bus.Publish("orders", new Order(1));
        _bus.Publish("orders", new Order(2));
        await Wait.UntilAsync(() => consumer.Statistics.Buffered == 0, "the pipeline takes what it can hold");
        Enumerable.Range(3, 8).ToList().ForEach(i => _bus.Publish("orders", new Order(i)));
        recorded.Observe();

        var statistics = consumer.Statistics;
        statistics.Dropped.Should().Be(6, "the buffer of two is full while the writer waits: 3 and 4 are kept, 5 to 10 dropped");
        recorded.Sum("rxeventbus.events.dropped").Should().Be(statistics.Dropped);
        recorded.Of("rxeventbus.queue.depth").Should().ContainSingle().Which.Should().Match<InstrumentRecorder.Measured>(
            m => m.Value == statistics.Buffered && m.Value == 2 && m.Unit == "{event}");

        await OpenGateAsync("dropped");
        _scheduler.AdvanceBy(TimeSpan.FromMinutes(90));
        await consumer.DisposeAsync();
        recorded.Sum("rxeventbus.events.persisted").Should().Be(consumer.Statistics.Persisted).And.Be(11 - statistics.Dropped,
            "what was not dropped is written once the database takes it again");
        recorded.Measurements.Clear();
        recorded.Observe();
        recorded.Of("rxeventbus.queue.depth").Should().BeEmpty("a disposed consumer's buffer is no longer reported");
    }

    [Fact]
    public async Task StartAndStop_Logged_WithTheirEventIds()
    {
        var logger = new ListLogger<PostgresConsumer>();
        var consumer = new PostgresConsumer(_bus, new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString, Schema = _schema, Table = "logged", Topics = ["^orders$"], MaxBatchSize = 10,
        }, logger: logger);
        _cleanup.Add(consumer);
        await consumer.StartAsync();
        _bus.Publish("orders", new Order(1));

        await consumer.StopWithinAsync();

        logger.Entries.Where(e => e.EventId.Id == 17).Should().Contain(e => e.Message.Contains("created table"),
            "what the consumer created in the database is logged");
        logger.Entries.Where(e => e.EventId.Id != 17).Select(e => (e.EventId.Id, e.EventId.Name)).Should().Equal(
            [(4, "SchemaEnsured"), (12, "ConsumerStarted"), (13, "ConsumerStopped")],
            "each message has a stable id (docs/observability.md lists them) for operators to alert on");
        logger.Entries.Last().Message.Should().Be($"Stopped persisting to \"{_schema}\".\"logged\": 1 events persisted, 0 accepted but not written.");
    }

    private sealed record Order(int Number);

    private sealed class Node
    {
        public Node? Next { get; set; }
    }
}
