using System.Text.RegularExpressions;
using Npgsql;
using RxEventBus.Tests.Common;
using RxEventBus.Postgres.Tests.Support;
using static RxEventBus.Postgres.Tests.Support.TestEvents;

namespace RxEventBus.Postgres.Tests;

// docs/persistence.md, "Migrating a plain table": the script is read from the doc and run as a user runs it (only the
// schema name replaced, as the doc says), on a plain table of each index layout holding expired rows, live rows and rows
// without expiry, with a named subscription's checkpoint in the middle of the log.
[Collection(SharedPostgres.Name)]
public sealed class PartitionMigrationTests(PostgresFixture fixture) : IAsyncLifetime
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly List<IAsyncDisposable> _disposables = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => Cleanup.DisposeAllAsync(_disposables);

    [Theory]
    [InlineData(IndexLayout.Default)]
    [InlineData(IndexLayout.Full)]
    [InlineData(IndexLayout.Minimal)]
    public async Task DocumentedScript_PlainTableWithASubscription_KeepsTheLiveRowsInPlaceAndTheSubscriptionResumes(IndexLayout layout)
    {
        var (rename, copyAndDrop) = MigrationScript();
        var schema = await fixture.CreateSchemaAsync("migr");
        var plain = new EventTable(schema, "events", new EventTableDesign { Indexes = layout });
        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, plain);

        // Real time: the script compares expires_at with the server's now(). Default ttl 15 minutes (TestRows).
        var now = DateTimeOffset.UtcNow;
        var expired = Enumerable.Range(0, 3).Select(n => Create("orders", now.AddHours(-2), n: n)).ToArray();
        var live = Enumerable.Range(0, 3).Select(n => Create("orders", now, n: 10 + n)).ToArray();
        var longTtl = Create("orders", now, ttl: TimeSpan.FromHours(5), n: 20);
        var never = Enumerable.Range(0, 2).Select(n => Create("orders", occurredAt: null, n: 30 + n)).ToArray();
        Event[][] batches =
        [
            [expired[0], live[0], never[0]],
            [expired[1], longTtl, live[1]],
            [never[1], expired[2], live[2]],
        ];
        foreach (var batch in batches)
        {
            await InsertAsync(fixture.DataSource, plain, batch);
        }

        // The subscription reads four rows: it acknowledged three (checkpoint at never[0]), the fourth comes again.
        var options = new EventSubscriptionOptions { Name = "billing", PageSize = 2, CheckpointEvery = 1 };
        var before = Subscribe(plain, options);
        var firstRun = await SubscriptionReads.TakeAsync(before, 4, Limit);
        await before.DisposeAsync();
        var places = await LogPlacesAsync(plain);
        var checkpoint = await CheckpointAsync(plain, "billing");
        checkpoint.Should().Be(places[never[0].Id], "the third row read is the last one acknowledged");
        firstRun.Select(e => e.Id).Should().Equal(batches[0].Append(expired[1]).Select(e => e.Id));

        // 1. Rename the plain table and its indexes.
        await ExecuteAsync(In(schema, rename));

        // 2. One consumer with a partition interval makes the partitioned table, reusing the position sequence.
        var scheduler = new ThreadSafeTestScheduler();
        scheduler.AdvanceTo(TimeSpan.FromTicks(now.UtcTicks));
        using var bus = new EventBus(new EventBusOptions { Topics = ["orders"], Scheduler = scheduler });
        var consumer = new PostgresConsumer(bus, new PostgresPersistenceOptions
        {
            ConnectionString = fixture.ConnectionString, Schema = schema, Table = "events", IndexLayout = layout,
            PartitionInterval = Hour, DefaultTtl = TestRows.DefaultTtl, DeletionPeriod = TimeSpan.FromMinutes(10), MaxBatchSize = 1,
        });
        _disposables.Add(consumer);
        await consumer.StartAsync();

        // 3. Copy the live rows with their tx and position, drop the old table.
        await ExecuteAsync(In(schema, copyAndDrop));

        var table = consumer.Table;
        (await ScalarAsync<string>($"SELECT relkind::text FROM pg_class WHERE oid = to_regclass('{table.QualifiedName}')")).Should().Be("p");
        (await ScalarAsync<bool>($"SELECT to_regclass('\"{schema}\".\"events_plain\"') IS NULL")).Should().BeTrue("the old table is dropped");
        (await SchemaManager.VerifySchemaAsync(fixture.DataSource, table)).Warnings.Should().BeEmpty(
            "every index of the layout is on the new table: none was skipped because the old table's index had its name");

        var liveIds = live.Append(longTtl).Concat(never).Select(e => e.Id).ToHashSet();
        var after = await LogPlacesAsync(table);
        after.Should().BeEquivalentTo(places.Where(p => liveIds.Contains(p.Key)).ToDictionary(),
            "the live rows are copied with their tx and position, the expired ones are not");
        var where = await WhereAsync(table);
        where.Where(w => w.Value == "events_default").Select(w => w.Key).Should().BeEquivalentTo(
            never.Append(longTtl).Select(e => e.Id), "rows without expiry, and a row past the partitions made, are in the default partition");
        where.Where(w => w.Value != "events_default").Select(w => w.Value).Should().OnlyContain(name => name.StartsWith("events_p2", StringComparison.Ordinal));

        // The sequence outlives the old table and numbers the new table's rows after every old one.
        (await ScalarAsync<bool>($"SELECT to_regclass('{table.QuotedPositionSequence}') IS NOT NULL")).Should().BeTrue("dropping the old table leaves the sequence");
        (await ScalarAsync<string>($"SELECT coalesce(pg_get_serial_sequence('{table.QualifiedName}', 'position'), 'none')"))
            .Should().Be($"{schema}.events_position_seq", "the new table's position column owns the sequence");
        var fresh = Enumerable.Range(0, 3).Select(n => bus.CreateEvent("orders", new Payload(40 + n, "orders"))).ToArray();
        foreach (var e in fresh)
        {
            bus.Publish(e);
        }

        await Wait.UntilAsync(() => consumer.Statistics.Persisted == fresh.Length, "the new events written");
        var written = await LogPlacesAsync(table);
        fresh.Select(e => written[e.Id].Sequence).Should().OnlyContain(p => p > places.Values.Max(v => v.Sequence),
            "positions go on increasing from the same sequence");

        // The subscription resumes after its checkpoint: the fourth row again (not acknowledged), then the live rows after
        // it in log order, then the new events; expired rows are gone, none comes twice.
        var resumed = await SubscriptionReads.TakeAsync(Subscribe(table, options), 7, Limit);
        resumed.Take(4).Select(e => e.Id).Should().Equal(
            [longTtl.Id, live[1].Id, never[1].Id, live[2].Id], "every live row after the checkpoint, once each, in (tx, position) order");
        resumed.Skip(4).Select(e => e.Id).Should().BeEquivalentTo(
            fresh.Select(e => e.Id), "then the new events, once each (two writers may commit them in either order)");
        resumed.Skip(4).Select(e => written[e.Id]).Should().BeInAscendingOrder("in (tx, position) order");
        await consumer.StopWithinAsync();
    }

    // The ```sql block under "Migrating a plain table", cut where it says to start the consumer.
    private static (string Rename, string CopyAndDrop) MigrationScript()
    {
        var doc = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "persistence.md"));
        var section = doc.IndexOf("**Migrating a plain table**", StringComparison.Ordinal);
        section.Should().BeGreaterThan(0, "docs/persistence.md has the migration");
        var block = Regex.Match(doc[section..], "```sql\n(.*?)```", RegexOptions.Singleline).Groups[1].Value;
        var start = Regex.Match(block, "^-- start one consumer.*?then:\n", RegexOptions.Singleline | RegexOptions.Multiline);
        start.Success.Should().BeTrue("the script says where to start the consumer");
        return (block[..start.Index], block[(start.Index + start.Length)..]);
    }

    // The doc's script is for "public"."events": the one substitution it tells a user to make for another schema.
    private static string In(string schema, string script) => script.Replace("\"public\"", $"\"{schema}\"", StringComparison.Ordinal);

    private EventSubscription Subscribe(EventTable table, EventSubscriptionOptions options)
    {
        var subscription = new EventSubscription(fixture.DataSource, table, new JsonEventSerializer(), options);
        _disposables.Add(subscription);
        return subscription;
    }

    private async Task<LogPosition> CheckpointAsync(EventTable table, string name)
    {
        await using var command = fixture.DataSource.CreateCommand($"SELECT tx, position FROM {table.SubscriptionsQualifiedName} WHERE name = '{name}'");
        await using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).Should().BeTrue($"the subscription '{name}' stored a checkpoint");
        return new LogPosition(reader.GetFieldValue<ulong>(0), reader.GetInt64(1));
    }

    private async Task<Dictionary<Guid, string>> WhereAsync(EventTable table)
    {
        await using var command = fixture.DataSource.CreateCommand($"SELECT id, tableoid::regclass::text FROM {table.QualifiedName}");
        await using var reader = await command.ExecuteReaderAsync();
        var where = new Dictionary<Guid, string>();
        while (await reader.ReadAsync())
        {
            var name = reader.GetString(1);
            where[reader.GetGuid(0)] = name[(name.LastIndexOf('.') + 1)..].Trim('"');
        }

        return where;
    }

    private async Task<Dictionary<Guid, LogPosition>> LogPlacesAsync(EventTable table)
    {
        await using var command = fixture.DataSource.CreateCommand($"SELECT id, tx, position FROM {table.QualifiedName}");
        await using var reader = await command.ExecuteReaderAsync();
        var places = new Dictionary<Guid, LogPosition>();
        while (await reader.ReadAsync())
        {
            places[reader.GetGuid(0)] = new LogPosition(reader.GetFieldValue<ulong>(1), reader.GetInt64(2));
        }

        return places;
    }

    private Task ExecuteAsync(string sql) => Sql.ExecuteAsync(fixture.ConnectionString, sql);

    private Task<T> ScalarAsync<T>(string sql) => Sql.ScalarAsync<T>(fixture.ConnectionString, sql);
}
