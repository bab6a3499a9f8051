using RxEventBus.Tests.Common;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Npgsql;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Postgres.Tests;

[Collection(SharedPostgres.Name)]
public sealed class PostgresConsumerTests(PostgresFixture database) : IAsyncLifetime
{
    private readonly ThreadSafeTestScheduler _scheduler = new();
    private readonly List<IAsyncDisposable> _cleanup = [];
    private string _schema = "";
    private EventBus _bus = null!;

    public async Task InitializeAsync()
    {
        _schema = await database.CreateSchemaAsync(nameof(PostgresConsumerTests));
        _bus = new EventBus(new EventBusOptions { Topics = ["orders", "payments", "poison"], Scheduler = _scheduler });
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_cleanup);

        _bus.Dispose();
    }

    private PostgresConsumer Consumer(string table, Func<PostgresPersistenceOptions, PostgresPersistenceOptions>? tune = null, EventBus? bus = null)
    {
        var options = new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString,
            Schema = _schema,
            Table = table,
            MaxBatchSize = 100,
            BufferSize = 1_000,
            MaxBatchDelay = TimeSpan.FromHours(1),
            ShutdownTimeout = TimeSpan.FromMinutes(1),
        };
        var consumer = new PostgresConsumer(bus ?? _bus, tune?.Invoke(options) ?? options);
        _cleanup.Add(consumer);
        return consumer;
    }

    private Task<long> CountRowsAsync(string table, string where = "true") =>
        Sql.ScalarAsync<long>(database.ConnectionString, $"select count(*) from {_schema}.{table} where {where}");

    private Task ExecuteAsync(string sql) => Sql.ExecuteAsync(database.ConnectionString, sql);


    [Fact]
    public async Task Publish_ThousandEvents_EachIsStoredOnceThenAcknowledged()
    {
        var consumer = Consumer("stored");
        await consumer.StartAsync();

        var published = Enumerable.Range(0, 1_000).Select(i => _bus.Publish(i % 2 == 0 ? "orders" : "payments", new Order(i))).ToList();
        await consumer.StopWithinAsync();

        (await CountRowsAsync("stored")).Should().Be(1_000);
        (await CountRowsAsync("stored", "id = any(array[" + string.Join(',', published.Select(e => $"'{e.Id}'::uuid")) + "])")).Should().Be(1_000);
        consumer.Statistics.Persisted.Should().Be(1_000);
        consumer.Statistics.Batches.Should().Be(10, "1,000 events in batches of at most 100, cut by count");
        _bus.Diagnostics.PendingEvents.Should().Be(0, "every event was acknowledged after its commit");
        consumer.Unwritten.Should().BeEmpty();
    }

    [Theory]
    [InlineData("copy", "57P03")]
    [InlineData("commit", "40001")]
    public async Task Write_BatchRefusedTransiently_EventsStayPendingUntilARetryCommits(string refusedAt, string sqlState)
    {
        // While a gate table says so, the server refuses the batch with a transient error: at the COPY (a row
        // trigger, as a server shutting down would), or only at the COMMIT, after the COPY succeeded (a deferred
        // constraint trigger, with a serialization failure). Acknowledging between the COPY and the COMMIT would
        // answer events that are not stored: the second case is the one that catches it.
        var table = "refused_at_" + refusedAt;
        var consumer = Consumer(table, o => new PostgresPersistenceOptions
        {
            ConnectionString = o.ConnectionString, Schema = o.Schema, Table = o.Table, MaxBatchSize = 3,
            MaxBatchDelay = o.MaxBatchDelay, InitialRetryDelay = TimeSpan.FromSeconds(1),
            RetryJitter = 0, // the test waits for the retry's exact delay
        });
        await SchemaManager.EnsureSchemaAsync(database.DataSource, consumer.Table);
        var trigger = refusedAt == "copy"
            ? $"create trigger refuse before insert on {_schema}.{table} for each row execute function {_schema}.refuse_{table}()"
            : $"create constraint trigger refuse after insert on {_schema}.{table} deferrable initially deferred for each row execute function {_schema}.refuse_{table}()";
        await ExecuteAsync($"""
            create table {_schema}.gate_{table} (closed boolean);
            insert into {_schema}.gate_{table} values (true);
            create function {_schema}.refuse_{table}() returns trigger language plpgsql as $$
            begin
              if (select closed from {_schema}.gate_{table}) then
                raise exception 'refused for the test' using errcode = '{sqlState}';
              end if;
              return new;
            end $$;
            {trigger};
            """);
        await consumer.StartAsync();
        var retryArmed = _scheduler.WhenScheduledAsync(TimeSpan.FromSeconds(1));

        var events = Enumerable.Range(0, 3).Select(i => _bus.Publish("orders", new Order(i))).ToList();
        await retryArmed;

        consumer.Statistics.Retries.Should().Be(1, "the batch failed once and waits for its retry");
        consumer.Statistics.Persisted.Should().Be(0);
        _bus.Pending("orders").Should().HaveCount(3, $"a batch refused at the {refusedAt} is not acknowledged")
            .And.OnlyContain(p => p.Completers.Count == 0 && p.Skippers.Count == 0);
        consumer.Status.State.Should().Be(ConsumerState.Degraded, "a retrying writer is visible");
        consumer.Status.Reason.Should().Contain(sqlState);
        (await CountRowsAsync(table)).Should().Be(0);

        await ExecuteAsync($"update {_schema}.gate_{table} set closed = false");
        _scheduler.AdvanceBy(TimeSpan.FromSeconds(1));
        await Wait.UntilAsync(() => _bus.Diagnostics.PendingEvents == 0, "the retry should commit the kept batch and then acknowledge it");

        (await CountRowsAsync(table)).Should().Be(3);
        consumer.Statistics.Persisted.Should().Be(3);
        consumer.Status.State.Should().Be(ConsumerState.Running, "the consumer recovers once a write succeeds");
        events.Should().OnlyContain(e => _bus.FetchEvent("orders", e.Id) == null);
        await consumer.StopWithinAsync();
    }

    [Fact]
    public async Task Write_RowTheClientCannotWrite_IsDeadLetteredAndTheRestCommitsWithoutARetry()
    {
        // occurred_at + ttl past year 9999 cannot be made into a date on the client: a problem of that row, which no
        // retry can fix. It must not hold its batch (and a writer) in an endless retry.
        var consumer = Consumer("client_refused", o => new PostgresPersistenceOptions
        {
            ConnectionString = o.ConnectionString, Schema = o.Schema, Table = o.Table, MaxBatchSize = 5, MaxBatchDelay = o.MaxBatchDelay,
        });
        var deadLetters = new List<DeadLetter>();
        using var _ = consumer.DeadLetters.Subscribe(deadLetters.Add);
        await consumer.StartAsync();

        var events = Enumerable.Range(0, 5)
            .Select(i => _bus.CreateEvent("orders", new Order(i)) with { Ttl = i == 2 ? TimeSpan.MaxValue : null })
            .ToList();
        events.ForEach(_bus.Publish);
        await consumer.StopWithinAsync();

        deadLetters.Should().ContainSingle().Which.Event.Should().Be(events[2]);
        deadLetters[0].ErrorType.Should().Be(typeof(ArgumentOutOfRangeException).FullName);
        deadLetters[0].Reason.Should().Contain("cannot be written");
        consumer.Statistics.Retries.Should().Be(0, "a row the client cannot write is refused at once, not retried");
        (await CountRowsAsync("client_refused")).Should().Be(4, "the other rows of the batch commit");
        (await CountRowsAsync("client_refused_dead_letters", $"id = '{events[2].Id}'")).Should().Be(1, "the dead letter is stored");
        _bus.Diagnostics.PendingEvents.Should().Be(0);
    }

    [Fact]
    public async Task Start_AutoDeleteWithTtl_DeletesExpiredRowsEachPeriodAndKeepsLiveOnes()
    {
        var consumer = Consumer("ttl", o => new PostgresPersistenceOptions
        {
            ConnectionString = o.ConnectionString, Schema = o.Schema, Table = o.Table, MaxBatchSize = 4,
            MaxBatchDelay = o.MaxBatchDelay, AutoDeleteWithTtl = true,
            DefaultTtl = TimeSpan.FromMinutes(15), DeletionPeriod = TimeSpan.FromMinutes(10),
        });
        var firstRun = _scheduler.WhenScheduledAsync(TimeSpan.FromMinutes(10));
        await consumer.StartAsync();
        await firstRun;
        foreach (var ttl in new TimeSpan?[] { TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), null, TimeSpan.FromHours(1) })
        {
            _bus.Publish(_bus.CreateEvent("orders", new Order(1)) with { Ttl = ttl });
        }

        await Wait.UntilAsync(() => consumer.Statistics.Persisted == 4, "the batch of four is cut by count");
        var run = consumer.TtlCleanupRuns.FirstAsync().ToTask();
        var startedAt = _scheduler.Now;
        _scheduler.AdvanceBy(TimeSpan.FromMinutes(10));

        var finished = await run.WaitAsync(TimeSpan.FromSeconds(30));
        finished.Should().Be(new TtlCleanupRun(startedAt.AddMinutes(10), 2, null),
            "the consumer reports its cleaner's run: at 10 minutes by the scheduler, the two events expired by then deleted");
        (await CountRowsAsync("ttl")).Should().Be(2);
        (await CountRowsAsync("ttl", "ttl is null or ttl = interval '1 hour'")).Should().Be(2,
            "the event on the default ttl (15 minutes) and the one of an hour are still alive");
    }

    [Theory]
    [InlineData(true, 0)]
    [InlineData(false, 2)]
    public async Task Start_AutoDeleteWithTtl_SubscriptionHasReadNothing_SparesExpiredRowsUnlessTtlSparesUnreadEventsIsOff(bool spare, int deleted)
    {
        var table = "ttl_spare_" + spare.ToString().ToLowerInvariant();
        var consumer = Consumer(table, o => new PostgresPersistenceOptions
        {
            ConnectionString = o.ConnectionString, Schema = o.Schema, Table = o.Table, MaxBatchSize = 3,
            MaxBatchDelay = o.MaxBatchDelay, AutoDeleteWithTtl = true, TtlSparesUnreadEvents = spare,
            DefaultTtl = TimeSpan.FromMinutes(15), DeletionPeriod = TimeSpan.FromMinutes(10),
        });
        var firstRun = _scheduler.WhenScheduledAsync(TimeSpan.FromMinutes(10));
        await consumer.StartAsync();
        await firstRun;
        foreach (var ttl in new TimeSpan?[] { TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromHours(1) })
        {
            _bus.Publish(_bus.CreateEvent("orders", new Order(1)) with { Ttl = ttl });
        }

        await Wait.UntilAsync(() => consumer.Statistics.Persisted == 3, "the batch of three is cut by count");
        // A named subscription that has handled nothing yet: its checkpoint is before every row.
        await ExecuteAsync($"insert into {_schema}.{table}_subscriptions (name, tx, position) values ('slow', '0', 0)");
        var run = consumer.TtlCleanupRuns.FirstAsync().ToTask();
        _scheduler.AdvanceBy(TimeSpan.FromMinutes(10));

        (await run.WaitAsync(TimeSpan.FromSeconds(30))).Deleted.Should().Be(deleted,
            spare ? "the two expired rows are unread by 'slow', so they stay" : "with the option off, expired rows go whatever the checkpoints");
    }

    [Fact]
    public async Task Write_SameEventsTwice_LeavesOneRowEach()
    {
        var events = Enumerable.Range(0, 250).Select(i => _bus.CreateEvent("orders", new Order(i))).ToList();
        var first = Consumer("idempotent");
        await first.StartAsync();
        events.Take(150).ToList().ForEach(_bus.Publish);
        await first.StopWithinAsync();

        using var again = new EventBus(new EventBusOptions { Topics = ["orders"], Scheduler = _scheduler });
        var second = Consumer("idempotent", bus: again);
        await second.StartAsync();
        events.ForEach(again.Publish);
        await second.StopWithinAsync();

        (await CountRowsAsync("idempotent")).Should().Be(250, "ids already stored are skipped, new ones inserted");
        second.Statistics.Persisted.Should().Be(250, "the rewritten batches count as persisted and are acknowledged");
        again.Diagnostics.PendingEvents.Should().Be(0);
    }

    [Fact]
    public async Task Stop_PartialBatchWaitingForItsDelay_IsFlushed()
    {
        var consumer = Consumer("flushed", o => new PostgresPersistenceOptions
        {
            ConnectionString = o.ConnectionString, Schema = o.Schema, Table = o.Table,
            MaxBatchSize = 1_000, MaxBatchDelay = TimeSpan.FromHours(1),
        });
        await consumer.StartAsync();
        Enumerable.Range(0, 500).ToList().ForEach(i => _bus.Publish("orders", new Order(i)));

        await consumer.DisposeAsync();

        (await CountRowsAsync("flushed")).Should().Be(500, "the last partial batch is written at shutdown, not dropped");
        _bus.Diagnostics.PendingEvents.Should().Be(0);
    }

    [Fact]
    public async Task Stop_ThenPublish_PublisherGetsAClearError()
    {
        var consumer = Consumer("stopped");
        await consumer.StartAsync();
        await consumer.StopWithinAsync();

        var act = () => _bus.Publish("orders", new Order(1));

        act.Should().Throw<EventRejectedException>().WithMessage("*stopping*",
            "an event published after the stop began must not look accepted");
    }

    [Fact]
    public async Task Write_PayloadCannotBeSerialized_IsDeadLetteredAndTheRestCommits()
    {
        var consumer = Consumer("dead");
        var deadLetters = new List<DeadLetter>();
        using var _ = consumer.DeadLetters.Subscribe(deadLetters.Add);
        await consumer.StartAsync();
        var cyclic = new Node();
        cyclic.Next = cyclic;

        _bus.Publish("orders", new Order(1));
        var bad = _bus.Publish("orders", cyclic);
        _bus.Publish("orders", new Order(2));
        await consumer.StopWithinAsync();

        deadLetters.Should().ContainSingle().Which.Event.Should().Be(bad);
        deadLetters[0].Reason.Should().Contain("cannot be serialized");
        (await CountRowsAsync("dead")).Should().Be(2, "the rest of the batch commits");
        _bus.Diagnostics.PendingEvents.Should().Be(0, "the dead letter is answered (skipped) on the bus");
        consumer.Statistics.DeadLettered.Should().Be(1);
    }

    [Fact]
    public async Task Write_DatabaseRefusesOneRow_OnlyThatRowIsDeadLettered()
    {
        var consumer = Consumer("refused");
        var deadLetters = new List<DeadLetter>();
        using var _ = consumer.DeadLetters.Subscribe(deadLetters.Add);
        await consumer.StartAsync();
        await SchemaManager.EnsureSchemaAsync(database.DataSource, consumer.Table);
        await ExecuteAsync($"alter table {_schema}.refused add constraint no_poison check (topic <> 'poison')");

        var events = Enumerable.Range(0, 40).Select(i => _bus.Publish(i == 17 ? "poison" : "orders", new Order(i))).ToList();
        await consumer.StopWithinAsync();

        deadLetters.Select(d => d.Event).Should().Equal([events[17]], "the batch is split until the refused row stands alone");
        (await CountRowsAsync("refused")).Should().Be(39);
        _bus.Diagnostics.PendingEvents.Should().Be(0);
    }

    [Fact]
    public async Task Stop_DatabaseUnreachable_ReportsEveryAcceptedEventAsUnwritten()
    {
        var consumer = new PostgresConsumer(_bus, new PostgresPersistenceOptions
        {
            ConnectionString = "Host=127.0.0.1;Port=1;Username=nobody;Password=secret;Timeout=1",
            EnsureSchema = false,
            MaxBatchSize = 2,
            ShutdownTimeout = TimeSpan.FromSeconds(30),
            RetryJitter = 0, // the test waits for the schema check's retry at exactly InitialRetryDelay
        });
        _cleanup.Add(consumer);

        // The start cannot check the table, so the pipeline waits to check it again before it reads the buffer.
        var retryArmed = _scheduler.WhenScheduledAsync(TimeSpan.FromMilliseconds(100));
        await consumer.StartAsync();
        var events = Enumerable.Range(0, 5).Select(i => _bus.Publish("orders", new Order(i))).ToList();
        await retryArmed;
        consumer.Status.State.Should().Be(ConsumerState.Degraded, "a consumer that cannot reach its database says so");

        var shutdownArmed = _scheduler.WhenScheduledAsync(TimeSpan.FromSeconds(30));
        var stop = consumer.StopAsync();
        await shutdownArmed;
        _scheduler.AdvanceBy(TimeSpan.FromSeconds(30));
        await stop.WaitAsync(TimeSpan.FromSeconds(30));

        consumer.Unwritten.Select(e => e.Id).Should().BeEquivalentTo(events.Select(e => e.Id),
            "what could not be written before the shutdown timeout is reported, not dropped silently");
    }

    [Fact]
    public async Task Write_WriterConnectionsKilledMidStream_EveryEventStoredExactlyOnce()
    {
        // Real time here: the writers must really race the killer. Nothing waits on the clock in the test.
        using var bus = new EventBus(new EventBusOptions { Topics = ["orders"] });
        var consumer = new PostgresConsumer(bus, new PostgresPersistenceOptions
        {
            ConnectionString = new NpgsqlConnectionStringBuilder(database.ConnectionString) { ApplicationName = "rxeb_killed_writer" }.ConnectionString,
            Schema = _schema,
            Table = "killed",
            MaxBatchSize = 500,
            BufferSize = 2_000,
            PoolSize = 2,
            MaxBatchDelay = TimeSpan.FromMilliseconds(5),
            InitialRetryDelay = TimeSpan.FromMilliseconds(5),
            MaxRetryDelay = TimeSpan.FromMilliseconds(50),
        });
        _cleanup.Add(consumer);
        await consumer.StartAsync();
        const int count = 10_000;

        var publishing = Task.Run(() => Enumerable.Range(0, count).Select(i => bus.Publish("orders", new Order(i)).Id).ToList());
        var kills = 0;
        await using (var killer = new NpgsqlConnection(database.ConnectionString))
        {
            await killer.OpenAsync();
            await using var kill = new NpgsqlCommand(
                "select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = 'rxeb_killed_writer' and state <> 'idle'",
                killer) { CommandTimeout = 300 };
            for (var round = 0; round < 20_000 && (!publishing.IsCompleted || kills == 0); round++)
            {
                kills += (int)(long)(await kill.ExecuteScalarAsync())!;
            }
        }

        var ids = await publishing.WaitAsync(TimeSpan.FromMinutes(2));
        await consumer.StopWithinAsync();

        kills.Should().BePositive("the test must actually have killed writer connections");
        consumer.Statistics.Retries.Should().BePositive("killed writes are retried");
        (await CountRowsAsync("killed")).Should().Be(count, "every event is stored, none twice");
        (await CountRowsAsync("killed", $"id in (select id from {_schema}.killed group by id having count(*) > 1)")).Should().Be(0);
        bus.Diagnostics.PendingEvents.Should().Be(0, "every event was acknowledged after its commit");
        ids.Should().OnlyHaveUniqueItems();
    }

    private sealed record Order(int Number);

    private sealed class Node
    {
        public Node? Next { get; set; }
    }
}
