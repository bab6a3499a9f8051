using Npgsql;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;

namespace RxEventBus.Postgres.Tests.Pipeline;

// The writer's NOTIFY (issue 12): one per committed batch on EventTable.NotificationChannel, which wakes the
// subscriptions of other processes.
[Collection(SharedPostgres.Name)]
public sealed class CopyWriterNotificationTests(PostgresFixture database) : IAsyncLifetime
{
    private static readonly TimeSpan Safety = TimeSpan.FromSeconds(30);
    private const string EndMarker = "end of test";

    private readonly ThreadSafeTestScheduler _scheduler = new();
    private string _schema = "";

    public async Task InitializeAsync() => _schema = await database.CreateSchemaAsync(nameof(CopyWriterNotificationTests));

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Write_OneBatchOfManyEvents_SendsExactlyOneNotification()
    {
        var notifications = await NotificationsWhileWritingAsync("notified", notify: true, events: 100);

        notifications.Should().Equal([""], "the 100 events were one batch, one transaction, and a batch sends one empty notification");
    }

    [Fact]
    public async Task Write_ThreeBatches_SendsOneNotificationEach()
    {
        var notifications = await NotificationsWhileWritingAsync("batches", notify: true, events: 250);

        notifications.Should().Equal(["", "", ""], "one per committed batch (100, 100, 50), not one per event");
    }

    [Fact]
    public async Task Write_NotifyOnCommitOff_SendsNone()
    {
        var notifications = await NotificationsWhileWritingAsync("silent", notify: false, events: 100);

        notifications.Should().BeEmpty("NotifyOnCommit = false");
    }

    [Fact]
    public async Task Write_BatchRolledBackAtCommitThenRetried_SendsOnlyTheCommittedAttemptsNotification()
    {
        // The first attempt runs the COPY and the pg_notify, then fails at its COMMIT (a deferred constraint
        // trigger, with a serialization failure); the retry commits. A notification sent outside the batch's
        // transaction would be heard twice.
        var table = new EventTable(_schema, "rolled_back");
        await SchemaManager.EnsureSchemaAsync(database.DataSource, table);
        await Sql.ExecuteAsync(database.ConnectionString, $"""
            create table {_schema}.gate (closed boolean);
            insert into {_schema}.gate values (true);
            create function {_schema}.refuse() returns trigger language plpgsql as $$
            begin
              if (select closed from {_schema}.gate) then
                raise exception 'refused for the test' using errcode = '40001';
              end if;
              return new;
            end $$;
            create constraint trigger refuse after insert on {table.QualifiedName} deferrable initially deferred
              for each row execute function {_schema}.refuse();
            """);
        var listener = await ListenAsync(table);
        await using var listening = listener.Connection;
        using var bus = new EventBus(new EventBusOptions { Topics = ["orders"], Scheduler = _scheduler });
        await using (var consumer = new PostgresConsumer(bus, new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString,
            Schema = _schema,
            Table = table.Table,
            MaxBatchSize = 3,
            MaxBatchDelay = TimeSpan.FromHours(1),
            AutoDeleteWithTtl = false,
            InitialRetryDelay = TimeSpan.FromSeconds(1),
            RetryJitter = 0, // the test waits for the retry's exact delay
        }))
        {
            await consumer.StartAsync();
            var retryArmed = _scheduler.WhenScheduledAsync(TimeSpan.FromSeconds(1));
            for (var i = 0; i < 3; i++)
            {
                bus.Publish("orders", new { Number = i });
            }

            await retryArmed;
            consumer.Statistics.Retries.Should().Be(1, "the first attempt was rolled back at its COMMIT");
            await Sql.ExecuteAsync(database.ConnectionString, $"update {_schema}.gate set closed = false");
            _scheduler.AdvanceBy(TimeSpan.FromSeconds(1));
            await Wait.UntilAsync(() => consumer.Statistics.Persisted == 3, "the retry commits the batch");
            await consumer.StopWithinAsync();
        }

        (await ReceivedUntilEndAsync(listener.Connection, listener.Received, table)).Should().Equal(
            [""], "PostgreSQL drops the notification of a transaction that rolls back; only the committed attempt's is delivered");
    }

    private async Task<(NpgsqlConnection Connection, List<string> Received)> ListenAsync(EventTable table)
    {
        var listener = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database.ConnectionString) { Pooling = false }.ConnectionString);
        await listener.OpenAsync();
        var received = new List<string>();
        listener.Notification += (_, e) =>
        {
            e.Channel.Should().Be(table.NotificationChannel);
            received.Add(e.Payload);
        };
        await using var listen = new NpgsqlCommand($"LISTEN \"{table.NotificationChannel}\"", listener);
        await listen.ExecuteNonQueryAsync();
        return (listener, received);
    }

    // The payloads received before an end marker sent now: PostgreSQL delivers notifications in commit order,
    // so every notification of a commit that came before this one arrives first.
    private async Task<List<string>> ReceivedUntilEndAsync(NpgsqlConnection listener, List<string> received, EventTable table)
    {
        await Sql.ExecuteAsync(database.ConnectionString, $"SELECT pg_notify('{table.NotificationChannel}', '{EndMarker}')");
        using var safety = new CancellationTokenSource(Safety);
        while (!received.Contains(EndMarker))
        {
            await listener.WaitAsync(safety.Token);
        }

        return received.TakeWhile(p => p != EndMarker).ToList();
    }

    // Listens on the table's channel while a consumer writes `events` events in batches of 100, then returns
    // the payloads received before an end marker sent after the consumer stopped.
    private async Task<List<string>> NotificationsWhileWritingAsync(string tableName, bool notify, int events)
    {
        var table = new EventTable(_schema, tableName);
        await SchemaManager.EnsureSchemaAsync(database.DataSource, table);
        var listener = await ListenAsync(table);
        await using var listening = listener.Connection;
        using var bus = new EventBus(new EventBusOptions { Topics = ["orders"], Scheduler = _scheduler });
        await using (var consumer = new PostgresConsumer(bus, new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString,
            Schema = _schema,
            Table = tableName,
            MaxBatchSize = 100,
            MaxBatchDelay = TimeSpan.FromHours(1),
            AutoDeleteWithTtl = false,
            NotifyOnCommit = notify,
        }))
        {
            await consumer.StartAsync();
            for (var i = 0; i < events; i++)
            {
                bus.Publish("orders", new { Number = i });
            }

            await consumer.StopWithinAsync();
            consumer.Statistics.Persisted.Should().Be(events);
        }

        return await ReceivedUntilEndAsync(listener.Connection, listener.Received, table);
    }
}
