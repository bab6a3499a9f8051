using System.Reactive.Linq;
using Microsoft.Extensions.Logging;
using Npgsql;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;

namespace RxEventBus.Postgres.Tests;

// No silent failure: every way the consumer can stop working ends somewhere a person or a program sees it —
// its Status, its Completion task, a log line at the right level, an exception to a publisher.
[Collection(SharedPostgres.Name)]
public sealed class ConsumerStateTests(PostgresFixture database) : IAsyncLifetime
{
    private readonly ThreadSafeTestScheduler _scheduler = new();
    private readonly List<IAsyncDisposable> _cleanup = [];
    private readonly ListLogger<PostgresConsumer> _log = new();
    private string _schema = "";
    private EventBus _bus = null!;

    public async Task InitializeAsync()
    {
        _schema = await database.CreateSchemaAsync(nameof(ConsumerStateTests));
        _bus = new EventBus(new EventBusOptions { Topics = ["orders"], Scheduler = _scheduler, RegexMatchTimeout = TimeSpan.FromMilliseconds(10) });
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_cleanup);
        _bus.Dispose();
    }

    private PostgresConsumer Consumer(string table, Func<PostgresPersistenceOptions, PostgresPersistenceOptions>? tune = null, NpgsqlDataSource? dataSource = null)
    {
        var options = new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString,
            Schema = _schema,
            Table = table,
            MaxBatchSize = 3,
            MaxBatchDelay = TimeSpan.FromHours(1),
            InitialRetryDelay = TimeSpan.FromSeconds(1),
            RetryJitter = 0, // the tests wait for the exact backoff delays
            AutoDeleteWithTtl = false,
        };
        var consumer = new PostgresConsumer(_bus, tune?.Invoke(options) ?? options, dataSource, _log);
        _cleanup.Add(consumer);
        return consumer;
    }

    private Task<long> CountRowsAsync(string table) =>
        Sql.ScalarAsync<long>(database.ConnectionString, $"select count(*) from {_schema}.{table}");

    [Fact]
    public async Task StartAsync_SubscriberNameAlreadyTaken_FailsWithAClearErrorAndFaults()
    {
        using var other = _bus.Tracked("postgres", ".*").Subscribe(e => e.MarkCompleted());
        var consumer = Consumer("taken");

        var start = () => consumer.StartAsync();

        (await start.Should().ThrowAsync<InvalidOperationException>())
            .WithMessage("*cannot subscribe to the bus as 'postgres'*already subscribed*SubscriberName*");
        consumer.Status.State.Should().Be(ConsumerState.Faulted, "a consumer that never subscribed must not look like it persists anything");
        await consumer.Completion.Invoking(c => c.WaitAsync(TimeSpan.FromSeconds(10))).Should().ThrowAsync<InvalidOperationException>();
        _bus.Diagnostics.LiveSubscriptions.Should().Be(1, "only the other subscriber is on the bus");
    }

    [Fact]
    public async Task Subscription_EndedByAPatternThatTimesOut_WritesWhatItHoldsThenFaultsLoudly()
    {
        // "(a+)+$" backtracks catastrophically on a's followed by '!': registering such a topic later ends the
        // consumer's subscription with an error. Persistence has stopped, and that must be seen.
        var consumer = Consumer("ended", o => new PostgresPersistenceOptions
        {
            ConnectionString = o.ConnectionString, Schema = o.Schema, Table = o.Table, MaxBatchSize = 1, Topics = ["orders", "(a+)+$"],
        });
        await consumer.StartAsync();
        _bus.Publish("orders", new Order(1));

        _bus.RegisterTopic(new string('a', 40) + "!");

        await consumer.Completion.Invoking(c => c.WaitAsync(TimeSpan.FromSeconds(30)))
            .Should().ThrowAsync<InvalidOperationException>().WithMessage("*RegexMatchTimeout*");
        consumer.Status.State.Should().Be(ConsumerState.Faulted);
        consumer.Status.Reason.Should().Contain("subscription to the bus ended with an error");
        _log.Entries.Should().Contain(e => e.Level == LogLevel.Critical && e.EventId.Id == 14, "a fault is logged as critical");
        (await CountRowsAsync("ended")).Should().Be(1, "what the consumer held when its subscription ended is still written");
    }

    [Fact]
    public async Task DeadLetters_AnObserverThrows_PersistenceGoesOnAndTheOtherObserversStillReceive()
    {
        var consumer = Consumer("observed", o => new PostgresPersistenceOptions
        {
            ConnectionString = o.ConnectionString, Schema = o.Schema, Table = o.Table, MaxBatchSize = 3, MaxBatchDelay = o.MaxBatchDelay,
        });
        using var faulty = consumer.DeadLetters.Subscribe(_ => throw new InvalidOperationException("observer bug"));
        var received = new List<DeadLetter>();
        using var healthy = consumer.DeadLetters.Subscribe(received.Add);
        await consumer.StartAsync();
        var cyclic = new Node();
        cyclic.Next = cyclic;

        _bus.Publish("orders", new Order(1));
        var bad = _bus.Publish("orders", cyclic);
        _bus.Publish("orders", new Order(2));
        _bus.Publish("orders", new Order(3));
        await consumer.StopWithinAsync();

        received.Should().ContainSingle().Which.Event.Should().Be(bad, "the second observer is not disturbed by the first");
        (await CountRowsAsync("observed")).Should().Be(3, "the batch after the one with the dead letter was written too");
        consumer.Status.State.Should().Be(ConsumerState.Stopped, "the observer's bug did not fault the pipeline");
        _log.Entries.Should().Contain(e => e.Level == LogLevel.Error && e.EventId.Id == 16 && e.Exception!.Message == "observer bug",
            "the observer's exception is not swallowed silently");
    }

    [Fact]
    public async Task Stores_AfterTheConsumerDisposedItsOwnPool_StillReadWhatWasWritten()
    {
        var consumer = Consumer("outlived");   // no data source given: the consumer builds and owns its pool
        await consumer.StartAsync();
        var events = Enumerable.Range(0, 3).Select(i => _bus.Publish("orders", new Order(i))).ToList();
        await consumer.StopWithinAsync();
        var store = consumer.Store;
        var deadLetters = consumer.DeadLetterStore;

        await consumer.DisposeAsync();

        (await store.CountAsync()).Should().Be(3, "the store outlives the consumer that handed it out");
        (await store.FindAsync(events[1].Id)).Should().NotBeNull();
        (await store.AllAsync(1, 10)).Select(e => e.Id).Should().BeEquivalentTo(events.Select(e => e.Id), "published at one virtual time, they are ordered by id");
        (await deadLetters.CountAsync()).Should().Be(0, "the dead-letter store outlives it too");
    }

    [Fact]
    public async Task Write_FailureOnlyAPersonCanFix_DegradedWithTheReasonLoggedOnceThenRecovers()
    {
        var consumer = Consumer("attention");
        await consumer.StartAsync();
        await Sql.ExecuteAsync(database.ConnectionString, $"alter table {_schema}.attention drop column source");
        var firstRetry = _scheduler.WhenScheduledAsync(TimeSpan.FromSeconds(1));

        Enumerable.Range(0, 3).ToList().ForEach(i => _bus.Publish("orders", new Order(i)));
        await firstRetry;

        consumer.Status.State.Should().Be(ConsumerState.Degraded);
        consumer.Status.Reason.Should().Contain("Needs attention").And.Contain("42703", "the reason names the SQLSTATE (undefined column)");
        for (var delay = 1; delay <= 4; delay *= 2)
        {
            var next = _scheduler.WhenScheduledAsync(TimeSpan.FromSeconds(delay * 2));
            _scheduler.AdvanceBy(TimeSpan.FromSeconds(delay));
            await next;
        }

        consumer.Statistics.Retries.Should().Be(4);
        _bus.Diagnostics.PendingEvents.Should().Be(3, "the batch is kept, not dropped, while it cannot be written");
        _log.Entries.Where(e => e.EventId.Id == 2 && e.Level == LogLevel.Error).Should().ContainSingle(
            "the failure is logged at Error once, when it starts, not at every retry");
        _log.Entries.Where(e => e.EventId.Id == 2 && e.Level == LogLevel.Debug).Should().HaveCount(3);

        await Sql.ExecuteAsync(database.ConnectionString, $"alter table {_schema}.attention add column source text");
        _scheduler.AdvanceBy(TimeSpan.FromSeconds(8));
        // The acknowledger marks the events completed, then records the commit's time: wait for both.
        await Wait.UntilAsync(
            () => _bus.Diagnostics.PendingEvents == 0 && consumer.Status.LastCommitAt is not null, "once fixed, the kept batch commits");

        consumer.Status.State.Should().Be(ConsumerState.Running);
        consumer.Status.Reason.Should().BeNull();
        consumer.Status.LastCommitAt.Should().Be(_scheduler.Now, "the commit's time is the scheduler's");
        _log.Entries.Should().Contain(e => e.EventId.Id == 15 && e.Level == LogLevel.Information, "the recovery is logged");
        (await CountRowsAsync("attention")).Should().Be(3);
    }

    [Fact]
    public async Task Pipeline_Fails_FaultsRefusesPublishersReportsWhatItHeldAndDisposeStillReleasesEverything()
    {
        var applicationName = "rxeb_faulted_" + Guid.NewGuid().ToString("N")[..8];
        var serializer = new BrokenSerializer();
        var consumer = Consumer("faulted", o => new PostgresPersistenceOptions
        {
            ConnectionString = new NpgsqlConnectionStringBuilder(o.ConnectionString) { ApplicationName = applicationName }.ConnectionString,
            Schema = o.Schema, Table = o.Table, MaxBatchSize = 3, MaxBatchDelay = o.MaxBatchDelay, Serializer = serializer,
        });
        await consumer.StartAsync();

        var events = Enumerable.Range(0, 3).Select(i => _bus.Publish("orders", new Order(i))).ToList();
        serializer.Break();

        await consumer.Completion.Invoking(c => c.WaitAsync(TimeSpan.FromSeconds(30)))
            .Should().ThrowAsync<OperationCanceledException>("Completion surfaces the pipeline's failure");
        consumer.Status.State.Should().Be(ConsumerState.Faulted);
        consumer.Status.Reason.Should().Contain("pipeline failed");
        consumer.Unwritten.Select(e => e.Id).Should().BeEquivalentTo(events.Select(e => e.Id), "what it held is reported, not lost silently");
        _bus.Invoking(b => b.Publish("orders", new Order(9))).Should().Throw<EventRejectedException>()
            .WithMessage("*faulted*", "a publisher must not believe a faulted consumer took its event");
        (await ConnectionsAsync(applicationName)).Should().BePositive("the consumer's pool holds the connection it checked the table with");

        await consumer.DisposeAsync();

        _bus.Diagnostics.LiveSubscriptions.Should().Be(0, "DisposeAsync leaves the bus even after a fault");
        _bus.Diagnostics.PendingEvents.Should().Be(0, "leaving the bus answers what it still owed");
        await Wait.UntilAsync(() => ConnectionsAsync(applicationName).Result == 0, "DisposeAsync releases the data source it owns, even after a fault");
    }

    [Fact]
    public async Task StartAsync_OlderTableLackingColumns_AddsThemLogsItAndWrites()
    {
        await Sql.ExecuteAsync(database.ConnectionString,
            $"create table {_schema}.older (id uuid primary key, transaction_id uuid, topic text not null, data bytea not null, occurred_at timestamptz)");
        var consumer = Consumer("older", o => new PostgresPersistenceOptions
        {
            ConnectionString = o.ConnectionString, Schema = o.Schema, Table = o.Table, MaxBatchSize = 1, MaxBatchDelay = o.MaxBatchDelay,
        });

        await consumer.StartAsync();
        _bus.Publish(_bus.CreateEvent("orders", new Order(1)) with { Source = "shop" });
        await consumer.StopWithinAsync();

        (await Sql.ScalarAsync<long>(database.ConnectionString, $"select count(*) from {_schema}.older where source = 'shop' and expires_at is not null"))
            .Should().Be(1, "the missing columns were added, and the event written with them");
        _log.Entries.Where(e => e.EventId.Id == 17).Select(e => e.Message).Should()
            .Contain(m => m.Contains("added column expires_at")).And.Contain(m => m.Contains("added column source"), "a change to the user's table is logged");
    }

    [Fact]
    public async Task StartAsync_TableOfAnotherShape_FailsNamingTheDifferenceAndFaults()
    {
        // event_bus_postgres's own table: bigint times, bytea data. Every batch would fail forever.
        await Sql.ExecuteAsync(database.ConnectionString, $"""
            create table {_schema}.seed (id uuid primary key, transaction_id uuid, topic varchar, data bytea,
              initialized_at bigint, occurred_at bigint, source varchar, ttl integer)
            """);
        var consumer = Consumer("seed");

        var start = () => consumer.StartAsync();

        (await start.Should().ThrowAsync<SchemaMismatchException>())
            .Which.Differences.Should().Contain(d => d.Contains("occurred_at") && d.Contains("bigint") && d.Contains("timestamp with time zone"));
        consumer.Status.State.Should().Be(ConsumerState.Faulted);
        _bus.Diagnostics.LiveSubscriptions.Should().Be(0, "a consumer that cannot write does not subscribe");
        await consumer.Completion.Invoking(c => c.WaitAsync(TimeSpan.FromSeconds(10))).Should().ThrowAsync<SchemaMismatchException>();
    }

    [Theory]
    [InlineData("dispose the bus")]
    [InlineData("unregister the topic")]
    public async Task PublisherWaitingForRoom_BusDisposedOrTopicUnregistered_ReturnsAtOnceAndThePublisherIsRefusedAtItsTimeout(string action)
    {
        // Nothing drains (the database is unreachable) and the buffer holds one event: the second publisher waits
        // inside the consumer's OnNext, holding the topic's delivery. Neither Dispose nor UnregisterTopic may wait for it.
        var publishTimeout = TimeSpan.FromMinutes(1);
        var consumer = Consumer("stalled", o => new PostgresPersistenceOptions
        {
            ConnectionString = "Host=127.0.0.1;Port=1;Username=nobody;Timeout=1", Schema = o.Schema, Table = o.Table,
            BufferSize = 1, EnsureSchema = false, PublishTimeout = publishTimeout, AutoDeleteWithTtl = false,
        });
        await consumer.StartAsync();
        using var plain = _bus.Topic("orders").Subscribe(_ => { });
        _bus.Publish("orders", new Order(1));
        var timerArmed = _scheduler.WhenScheduledAsync(publishTimeout);
        var blocked = Task.Run(() => _bus.Publish("orders", new Order(2)));
        await timerArmed;

        Action act = action == "dispose the bus" ? _bus.Dispose : () => _bus.UnregisterTopic("orders");
        await Task.Run(act).WaitAsync(TimeSpan.FromSeconds(10));

        blocked.IsCompleted.Should().BeFalse("the publisher still waits for room, until its timeout");
        _scheduler.AdvanceBy(publishTimeout);
        await blocked.Invoking(t => t.WaitAsync(TimeSpan.FromSeconds(10)))
            .Should().ThrowAsync<EventRejectedException>().WithMessage("*publish timeout*");
        consumer.Statistics.Refused.Should().Be(1);
        await consumer.StopNowAsync();
    }

    [Theory]
    [InlineData("unsubscribed")]
    [InlineData("pattern timeout")]
    public async Task SubscriptionEndedByTheBusWhileWritesFail_StopReportsEveryEventItHeld(string how)
    {
        // The bus answers (skips) what a subscriber owes when it ends the subscription, while those events are still
        // in the consumer's writer. They must still be reported when the consumer cannot write them.
        var consumer = Consumer("held_" + how.Replace(' ', '_'), o => new PostgresPersistenceOptions
        {
            ConnectionString = o.ConnectionString, Schema = o.Schema, Table = o.Table, MaxBatchSize = 3, MaxBatchDelay = o.MaxBatchDelay,
            InitialRetryDelay = o.InitialRetryDelay, RetryJitter = o.RetryJitter, AutoDeleteWithTtl = false, Topics = ["orders", "(a+)+$"],
        });
        await consumer.StartAsync();
        await Sql.ExecuteAsync(database.ConnectionString, $"alter table {consumer.Table.QualifiedName} drop column source");
        var retrying = _scheduler.WhenScheduledAsync(TimeSpan.FromSeconds(1));
        var events = Enumerable.Range(0, 3).Select(i => _bus.Publish("orders", new Order(i))).ToList();
        await retrying;

        if (how == "unsubscribed")
        {
            _bus.Unsubscribe("postgres").Should().BeTrue();
        }
        else
        {
            _bus.RegisterTopic(new string('a', 40) + "!");
        }

        _bus.Diagnostics.PendingEvents.Should().Be(0, "the bus no longer holds what the departed subscriber owed");
        await consumer.StopNowAsync();

        consumer.Unwritten.Select(e => e.Id).Should().Equal(events.Select(e => e.Id), "the consumer reports what it held, from its own ledger");
        _log.Entries.Where(e => e.EventId.Id == 5).Should().HaveCount(3, "each unwritten event is logged");
        if (how == "pattern timeout")
        {
            consumer.Status.State.Should().Be(ConsumerState.Faulted, "an error ending the subscription faults the consumer, even when the stop cut the drain short");
            await consumer.Completion.Invoking(c => c.WaitAsync(TimeSpan.FromSeconds(10))).Should().ThrowAsync<InvalidOperationException>();
        }
        else
        {
            consumer.Status.State.Should().Be(ConsumerState.Stopped);
            consumer.Status.Reason.Should().Contain("3 accepted events were not written");
        }
    }

    [Fact]
    public async Task Subscription_CompletedByTheBusDisposal_WritesWhatItHeldStopsAndSaysSo()
    {
        var consumer = Consumer("bus_disposed", o => new PostgresPersistenceOptions
        {
            ConnectionString = o.ConnectionString, Schema = o.Schema, Table = o.Table, MaxBatchSize = 3, MaxBatchDelay = o.MaxBatchDelay,
        });
        await consumer.StartAsync();
        var events = Enumerable.Range(0, 3).Select(i => _bus.Publish("orders", new Order(i))).ToList();

        _bus.Dispose();

        await consumer.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        consumer.Status.State.Should().Be(ConsumerState.Stopped);
        consumer.Status.Reason.Should().Contain("the bus ended the subscription");
        (await CountRowsAsync("bus_disposed")).Should().Be(3, "what it held was written before it stopped");
        _log.Entries.Should().Contain(e => e.EventId.Id == 20, "the end of the subscription is logged")
            .And.Contain(e => e.EventId.Id == 13, "and so is the stop");
    }

    [Fact]
    public async Task StopAsync_WhileStartWaitsForTheSchemaLock_StartSubscribesNothing()
    {
        var consumer = Consumer("stopped_while_starting");
        await using var holder = new NpgsqlConnection(database.ConnectionString);
        await holder.OpenAsync();
        await using (var take = new NpgsqlCommand("select pg_advisory_lock(hashtextextended(@key, 0))", holder))
        {
            take.Parameters.AddWithValue("key", SchemaManager.LockKey(consumer.Table));
            await take.ExecuteNonQueryAsync();
        }

        var start = consumer.StartAsync();
        await Wait.UntilAsync(
            () => Sql.ScalarAsync<long>(database.ConnectionString, "select count(*) from pg_locks where locktype = 'advisory' and not granted").Result > 0,
            "the start should be waiting for the lock another instance holds");
        await consumer.StopAsync();
        await using (var release = new NpgsqlCommand("select pg_advisory_unlock_all()", holder))
        {
            await release.ExecuteNonQueryAsync();
        }

        await start.Invoking(t => t.WaitAsync(TimeSpan.FromSeconds(30))).Should().ThrowAsync<InvalidOperationException>()
            .WithMessage("*stopped while it was starting*");
        _bus.Diagnostics.LiveSubscriptions.Should().Be(0, "a consumer stopped before its start finished does not subscribe");
        consumer.Status.State.Should().Be(ConsumerState.Stopped);
    }

    [Fact]
    public async Task StopAsync_StatusObserverPublishesWhileTheBufferIsFull_IsRefusedAtOnceAndTheStopEnds()
    {
        var consumer = Consumer("observer_publishes", o => new PostgresPersistenceOptions
        {
            ConnectionString = "Host=127.0.0.1;Port=1;Username=nobody;Timeout=1", Schema = o.Schema, Table = o.Table,
            BufferSize = 1, EnsureSchema = false, AutoDeleteWithTtl = false,
        });
        var refusals = 0;
        using var notifier = consumer.StatusChanges.Where(s => s.State == ConsumerState.Stopping).Subscribe(_ =>
        {
            try
            {
                _bus.Publish("orders", new Order(99));
            }
            catch (EventRejectedException)
            {
                Interlocked.Increment(ref refusals);
            }
        });
        await consumer.StartAsync();
        _bus.Publish("orders", new Order(1));

        await consumer.StopNowAsync().WaitAsync(TimeSpan.FromSeconds(10));

        refusals.Should().Be(1, "intake closes before the stop is announced, so the observer's event is refused instead of waiting for room");
    }

    private Task<long> ConnectionsAsync(string applicationName) => Sql.ScalarAsync<long>(
        database.ConnectionString, $"select count(*) from pg_stat_activity where application_name = '{applicationName}'");

    private sealed record Order(int Number);

    private sealed class Node
    {
        public Node? Next { get; set; }
    }

    // A serializer with a bug, once the test breaks it: it throws OperationCanceledException, which the mapper
    // does not take for a bad payload (it cannot tell it from a cancellation), so it escapes into the pipeline.
    // Until then it waits, so that every event of the test is accepted first.
    private sealed class BrokenSerializer : IEventSerializer
    {
        private readonly TaskCompletionSource _broken = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal void Break() => _broken.TrySetResult();

        public async ValueTask<byte[]> SerializeAsync(Event @event, CancellationToken cancellationToken)
        {
            await _broken.Task.WaitAsync(cancellationToken);
            throw new OperationCanceledException("serializer bug");
        }

        public object Deserialize(string topic, ReadOnlySpan<byte> json) => throw new NotSupportedException();
    }
}
