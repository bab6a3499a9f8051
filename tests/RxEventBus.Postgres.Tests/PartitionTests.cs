using Microsoft.Reactive.Testing;
using Npgsql;
using RxEventBus.Tests.Common;
using RxEventBus.Postgres.Tests.Support;
using static RxEventBus.Postgres.Tests.Support.TestEvents;

namespace RxEventBus.Postgres.Tests;

// A table partitioned by expires_at (issue 13): partitions made ahead, once across instances; rows without an expiry
// and rows past the last partition in the default partition, moved out when their partition is made; retention by
// dropping whole partitions whose range has passed, per-event ttls included; subscriptions across partitions.
[Collection(SharedPostgres.Name)]
public sealed class PartitionTests(PostgresFixture fixture) : IAsyncLifetime
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly TestScheduler _scheduler = new();
    private readonly List<IAsyncDisposable> _disposables = [];
    private EventTable _table = null!;
    private EventStore _store = null!;

    public async Task InitializeAsync()
    {
        _table = new EventTable(await fixture.CreateSchemaAsync("part"), "events", new EventTableDesign { PartitionInterval = Hour });
        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, _table);
        _store = new EventStore(fixture.DataSource, _table, new JsonEventSerializer(), _scheduler);
    }

    public Task DisposeAsync() => Cleanup.DisposeAllAsync(_disposables);

    [Fact]
    public async Task EnsureSchemaAsync_Partitioned_CreatesAPartitionedTableWithItsDefaultPartitionOnly()
    {
        (await ScalarAsync<string>($"SELECT relkind::text FROM pg_class WHERE oid = to_regclass('{_table.QualifiedName}')")).Should().Be("p");
        (await PartitionsAsync()).Should().Equal(["events_default: DEFAULT"], "partitions are made for a time, by CreatePartitionsAsync");
        (await ScalarAsync<string>(
            $"SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass('{_table.QualifiedName}') AND contype = 'u'"))
            .Should().Be("UNIQUE NULLS NOT DISTINCT (id, expires_at)", "a partitioned table's unique key holds its partition key");
        (await SchemaManager.VerifySchemaAsync(fixture.DataSource, _table)).Warnings.Should().BeEmpty();
    }

    [Fact]
    public async Task CreatePartitionsAsync_FromNow_MakesEachRangeUpToTheHorizonOnceAndRowsLandInThem()
    {
        var made = await SchemaManager.CreatePartitionsAsync(fixture.DataSource, _table, T0.AddMinutes(10), TimeSpan.FromMinutes(130));
        var again = await SchemaManager.CreatePartitionsAsync(fixture.DataSource, _table, T0.AddMinutes(10), TimeSpan.FromMinutes(130));

        made.Should().Equal(["events_p202405011200", "events_p202405011300", "events_p202405011400"],
            "12:10 + 130 minutes is 14:20: the ranges from 12:00 to the one holding it, aligned on the hour");
        again.Should().BeEmpty("every range is there");
        (await PartitionsAsync()).Should().Equal(
        [
            "events_default: DEFAULT",
            "events_p202405011200: FOR VALUES FROM ('2024-05-01 12:00:00+00') TO ('2024-05-01 13:00:00+00')",
            "events_p202405011300: FOR VALUES FROM ('2024-05-01 13:00:00+00') TO ('2024-05-01 14:00:00+00')",
            "events_p202405011400: FOR VALUES FROM ('2024-05-01 14:00:00+00') TO ('2024-05-01 15:00:00+00')",
        ]);

        // Default ttl 15 minutes: 12:50 expires 13:05; own ttl 90 minutes: 14:35; no occurred_at: never.
        var inSecond = Create("orders", T0.AddMinutes(50));
        var inThird = Create("orders", T0.AddMinutes(5), ttl: TimeSpan.FromMinutes(150));
        var never = Create("orders", occurredAt: null);
        var pastTheLast = Create("orders", T0, ttl: TimeSpan.FromHours(5));
        await InsertAsync(fixture.DataSource, _table, inSecond, inThird, never, pastTheLast);

        (await WhereAsync()).Should().BeEquivalentTo(new Dictionary<Guid, string>
        {
            [inSecond.Id] = "events_p202405011300",
            [inThird.Id] = "events_p202405011400",
            [never.Id] = "events_default",
            [pastTheLast.Id] = "events_default",
        });
    }

    [Fact]
    public async Task CreatePartitionsAsync_RowsWaitInTheDefaultPartition_MakesTheirPartitionsAndMovesThemKeepingTheirPlaceInTheLog()
    {
        var longTtl = Create("orders", T0, ttl: TimeSpan.FromHours(5));
        var never = Create("orders", occurredAt: null);
        await InsertAsync(fixture.DataSource, _table, longTtl, never);
        var before = await LogPlacesAsync();

        var made = await SchemaManager.CreatePartitionsAsync(fixture.DataSource, _table, T0, Hour);

        made.Should().Equal(
            Enumerable.Range(12, 6).Select(hour => $"events_p20240501{hour}00"),
            "12:00 to 13:00 for the horizon, then up to 17:00, the range the waiting row expires in");
        (await WhereAsync()).Should().BeEquivalentTo(new Dictionary<Guid, string>
        {
            [longTtl.Id] = "events_p202405011700",
            [never.Id] = "events_default",
        }, "a row in the default partition moves into the partition made for it; a row that never expires stays");
        (await LogPlacesAsync()).Should().BeEquivalentTo(before, "a moved row keeps its tx and position: the subscriptions' order does not change");
    }

    [Fact]
    public async Task CreatePartitionsAsync_FourInstancesAtOnce_MakeEachPartitionExactlyOnceWithoutAnError()
    {
        var sources = Enumerable.Range(0, 4).Select(_ => NpgsqlDataSource.Create(fixture.ConnectionString)).ToList();
        try
        {
            var runs = await Task.WhenAll(sources.Select(source =>
                Task.Run(() => SchemaManager.CreatePartitionsAsync(source, _table, T0, TimeSpan.FromHours(23)))));

            runs.SelectMany(made => made).Should().OnlyHaveUniqueItems("each partition is made by one instance; the others find it")
                .And.HaveCount(24, "12:00 today to 11:00 tomorrow");
            (await PartitionsAsync()).Should().HaveCount(25, "24 ranges and the default partition");
        }
        finally
        {
            foreach (var source in sources)
            {
                await source.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task DeleteExpiredAsync_PerEventTtls_DropsThePartitionsWhoseRangeHasPassedAndDeletesOnlyTheDefaultPartitionsExpiredRows()
    {
        await SchemaManager.CreatePartitionsAsync(fixture.DataSource, _table, T0, TimeSpan.FromHours(3));
        var expiresAt1210 = Create("orders", T0.AddMinutes(-5));                                  // 12:00–13:00
        var expiresAt1250 = Create("orders", T0.AddMinutes(-10), ttl: TimeSpan.FromHours(1));     // 12:00–13:00
        var expiresAt1330 = Create("orders", T0.AddMinutes(-30), ttl: TimeSpan.FromHours(2));     // 13:00–14:00
        var expiresAt1510 = Create("orders", T0.AddMinutes(10), ttl: TimeSpan.FromHours(3));      // 15:00–16:00
        var waitingExpired = Create("orders", T0.AddMinutes(-70), ttl: TimeSpan.FromMinutes(10)); // 11:00, before every partition: default
        var never = Create("orders", occurredAt: null);
        await InsertAsync(fixture.DataSource, _table, expiresAt1210, expiresAt1250, expiresAt1330, expiresAt1510, waitingExpired, never);
        _scheduler.AdvanceTo(T0.AddMinutes(75).UtcTicks); // 13:15

        var cleanup = await _store.DeleteExpiredBeforeAsync(_scheduler.Now, spareUnreadEvents: true, waitForLock: true, CancellationToken.None);

        cleanup!.DroppedPartitions.Should().Equal(["events_p202405011200"], "only 12:00–13:00 has passed whole at 13:15");
        cleanup.Deleted.Should().Be(1, "the default partition's expired row is deleted row by row");
        (await TestRows.IdsAsync(fixture.DataSource, _table)).Should().BeEquivalentTo(
            [expiresAt1330.Id, expiresAt1510.Id, never.Id],
            "13:00–14:00 has not passed whole: its expired row waits for the drop, at most one interval late");
        (await PartitionsAsync()).Should().NotContain(p => p.StartsWith("events_p202405011200", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DeleteExpiredAsync_ASubscriptionHasNotPassedAPartitionsRows_KeepsThatPartitionUntilItHas()
    {
        await SchemaManager.CreatePartitionsAsync(fixture.DataSource, _table, T0, TimeSpan.FromHours(2));
        var first = Create("orders", T0.AddMinutes(-10));
        await InsertAsync(fixture.DataSource, _table, first);
        var second = Create("orders", T0.AddMinutes(-5));
        await InsertAsync(fixture.DataSource, _table, second);
        var places = await LogPlacesAsync();
        await StoreCheckpointAsync("slow", places[first.Id]);
        _scheduler.AdvanceTo(T0.AddHours(1).UtcTicks);

        var kept = await _store.DeleteExpiredBeforeAsync(_scheduler.Now, spareUnreadEvents: true, waitForLock: true, CancellationToken.None);
        await StoreCheckpointAsync("slow", places[second.Id]);
        var dropped = await _store.DeleteExpiredBeforeAsync(_scheduler.Now, spareUnreadEvents: true, waitForLock: true, CancellationToken.None);

        kept!.DroppedPartitions.Should().BeEmpty("the subscription 'slow' has not passed the second row");
        dropped!.DroppedPartitions.Should().Equal(["events_p202405011200"], "once it has, the partition goes whole");
    }

    [Fact]
    public async Task TtlCleaner_PartitionedTable_MakesPartitionsAheadAndReportsTheDroppedOnes()
    {
        _scheduler.AdvanceTo(T0.UtcTicks);
        await using var cleaner = new TtlCleaner(_store, Hour) { PartitionsAhead = Hour };
        var runs = new List<TtlCleanupRun>();
        using var watching = cleaner.Runs.Subscribe(runs.Add);
        cleaner.Start();

        _scheduler.AdvanceBy(Hour.Ticks);
        await Wait.UntilAsync(() => runs.Count == 1, "the first run");
        await InsertAsync(fixture.DataSource, _table, Create("orders", T0.AddMinutes(55)));
        _scheduler.AdvanceBy(Hour.Ticks);
        await Wait.UntilAsync(() => runs.Count == 2, "the second run");

        runs[0].CreatedPartitions.Should().Equal(["events_p202405011300", "events_p202405011400"], "at 13:00, up to the range holding 14:00");
        runs[1].CreatedPartitions.Should().Equal(["events_p202405011500"]);
        runs[1].DroppedPartitions.Should().Equal(["events_p202405011300"], "its row expired at 13:10, and at 14:00 its range has passed");
        runs.Should().OnlyContain(r => r.Succeeded);
    }

    [Fact]
    public async Task ReadAsync_RowsAcrossPartitionsAndTheDefault_DeliversEachOnceInLogOrderAlsoAfterAMove()
    {
        await SchemaManager.CreatePartitionsAsync(fixture.DataSource, _table, T0, TimeSpan.FromHours(1));
        var batches = new[]
        {
            new[] { Create("orders", T0.AddMinutes(50), n: 0), Create("orders", T0, ttl: TimeSpan.FromHours(4), n: 1) },
            new[] { Create("orders", T0.AddMinutes(1), n: 2), Create("orders", occurredAt: null, n: 3) },
            new[] { Create("orders", T0, ttl: TimeSpan.FromHours(6), n: 4), Create("orders", T0.AddMinutes(20), n: 5) },
        };
        foreach (var batch in batches)
        {
            await InsertAsync(fixture.DataSource, _table, batch);
        }

        var options = new EventSubscriptionOptions { Name = "across", PageSize = 2, CheckpointEvery = 1 };
        var first = Subscribe(options);
        var firstRun = await TakeAsync(first, 3);
        await first.DisposeAsync();

        // The rows waiting in the default partition move to the partitions made for them.
        var made = await SchemaManager.CreatePartitionsAsync(fixture.DataSource, _table, T0, Hour);
        var secondRun = await TakeAsync(Subscribe(options), 4);

        made.Should().Contain(["events_p202405011600", "events_p202405011800"]);
        secondRun[0].Id.Should().Be(firstRun[2].Id, "the third event was yielded but not acknowledged: it is delivered again");
        firstRun.Take(2).Concat(secondRun).Select(e => e.Id).Should().Equal(batches.SelectMany(b => b).Select(e => e.Id),
            "every row once, in (tx, position) order, before and after rows moved out of the default partition");
    }

    [Fact]
    public async Task EnsureSchemaAsync_PlainTableButPartitionedDesign_RefusesNamingTheOption()
    {
        var plain = new EventTable(_table.Schema, "plain");
        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, plain);

        var ensure = () => SchemaManager.EnsureSchemaAsync(fixture.DataSource, new EventTable(_table.Schema, "plain", new EventTableDesign { PartitionInterval = Hour }));
        var verify = () => SchemaManager.VerifySchemaAsync(fixture.DataSource, new EventTable(_table.Schema, "events"));

        (await ensure.Should().ThrowAsync<SchemaMismatchException>()).Which.Message.Should().Contain("is not partitioned, but PartitionInterval (EB_PG_PARTITION_INTERVAL_IN_MS) is set");
        (await verify.Should().ThrowAsync<SchemaMismatchException>()).Which.Message.Should().Contain("is partitioned, but PartitionInterval (EB_PG_PARTITION_INTERVAL_IN_MS) is not set");
    }

    [Fact]
    public async Task VerifySchemaAsync_DefaultPartitionDropped_IsAMissingPiece()
    {
        await ExecuteAsync($"DROP TABLE {_table.DefaultPartitionQualifiedName}");

        var verify = () => SchemaManager.VerifySchemaAsync(fixture.DataSource, _table);
        (await verify.Should().ThrowAsync<SchemaMismatchException>()).Which.Message.Should().Contain("has no default partition");

        var report = await SchemaManager.EnsureSchemaAsync(fixture.DataSource, _table);
        report.Changes.Should().Contain($"created the default partition of {_table.QualifiedName}");
    }

    [Fact]
    public async Task Consumer_PartitionedTable_MakesPartitionsAtStartAndWritesADuplicateOnce()
    {
        var scheduler = new ThreadSafeTestScheduler();
        scheduler.AdvanceTo(TimeSpan.FromTicks(T0.UtcTicks));
        using var bus = new EventBus(new EventBusOptions { Topics = ["orders"], Scheduler = scheduler });
        var consumer = new PostgresConsumer(bus, new PostgresPersistenceOptions
        {
            ConnectionString = fixture.ConnectionString, Schema = _table.Schema, Table = "consumed", PartitionInterval = Hour,
            DefaultTtl = TimeSpan.FromMinutes(30), DeletionPeriod = TimeSpan.FromMinutes(10), MaxBatchSize = 1,
        });
        _disposables.Add(consumer);
        await consumer.StartAsync();
        var e = bus.CreateEvent("orders", new Payload(1, "orders"));

        bus.Publish(e);
        await Wait.UntilAsync(() => consumer.Statistics.Persisted == 1 && bus.Diagnostics.PendingEvents == 0, "the first write, answered");
        bus.Publish(e);
        await Wait.UntilAsync(() => consumer.Statistics.Duplicates == 1, "the second write, found a duplicate");

        (await ScalarAsync<long>($"SELECT count(*) FROM {consumer.Table.QualifiedName} WHERE id = '{e.Id}'")).Should().Be(1, "the same event, same expiry: one row");
        (await ScalarAsync<string>($"SELECT tableoid::regclass::text FROM {consumer.Table.QualifiedName} WHERE id = '{e.Id}'"))
            .Should().EndWith("consumed_p202405011200", "12:00 + 30 minutes: in the partition made at start (up to 12:00 + 30 + 10 minutes + an hour)");
    }

    private EventSubscription Subscribe(EventSubscriptionOptions options)
    {
        var subscription = new EventSubscription(fixture.DataSource, _table, new JsonEventSerializer(), options);
        _disposables.Add(subscription);
        return subscription;
    }

    private static Task<List<Event>> TakeAsync(EventSubscription subscription, int count) => SubscriptionReads.TakeAsync(subscription, count, Limit);

    private async Task<List<string>> PartitionsAsync()
    {
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        await using (var utc = new NpgsqlCommand("SET TimeZone = 'UTC'", connection))
        {
            await utc.ExecuteNonQueryAsync();
        }

        await using var command = new NpgsqlCommand(
            "SELECT c.relname || ': ' || pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid " +
            $"WHERE i.inhparent = to_regclass('{_table.QualifiedName}') ORDER BY c.relname", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var partitions = new List<string>();
        while (await reader.ReadAsync())
        {
            partitions.Add(reader.GetString(0));
        }

        await using (var reset = new NpgsqlCommand("RESET TimeZone", connection))
        {
            await reader.CloseAsync();
            await reset.ExecuteNonQueryAsync();
        }

        return partitions;
    }

    private async Task<Dictionary<Guid, string>> WhereAsync()
    {
        await using var command = fixture.DataSource.CreateCommand($"SELECT id, tableoid::regclass::text FROM {_table.QualifiedName}");
        await using var reader = await command.ExecuteReaderAsync();
        var where = new Dictionary<Guid, string>();
        while (await reader.ReadAsync())
        {
            var name = reader.GetString(1);
            where[reader.GetGuid(0)] = name[(name.LastIndexOf('.') + 1)..].Trim('"');
        }

        return where;
    }

    private async Task<Dictionary<Guid, LogPosition>> LogPlacesAsync()
    {
        await using var command = fixture.DataSource.CreateCommand($"SELECT id, tx, position FROM {_table.QualifiedName}");
        await using var reader = await command.ExecuteReaderAsync();
        var places = new Dictionary<Guid, LogPosition>();
        while (await reader.ReadAsync())
        {
            places[reader.GetGuid(0)] = new LogPosition(reader.GetFieldValue<ulong>(1), reader.GetInt64(2));
        }

        return places;
    }

    private Task StoreCheckpointAsync(string name, LogPosition position) =>
        ExecuteAsync(
            $"INSERT INTO {_table.SubscriptionsQualifiedName} (name, tx, position) VALUES ('{name}', '{position.Transaction}'::xid8, {position.Sequence}) " +
            "ON CONFLICT (name) DO UPDATE SET tx = excluded.tx, position = excluded.position");

    private Task ExecuteAsync(string sql) => Sql.ExecuteAsync(fixture.ConnectionString, sql);

    private Task<T> ScalarAsync<T>(string sql) => Sql.ScalarAsync<T>(fixture.ConnectionString, sql);
}
