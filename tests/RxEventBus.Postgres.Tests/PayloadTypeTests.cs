using System.Buffers.Binary;
using System.Text;
using Npgsql;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;

namespace RxEventBus.Postgres.Tests;

// The payload type end to end, per table: the consumer writes the type the table's design names (through COPY, and
// through the staging table when it rewrites a batch with a duplicate), and every reader — the store, the
// dead-letter replay, a subscription — follows the column's actual type, so a reader configured for another
// payload type still reads the table.
[Collection(SharedPostgres.Name)]
public sealed class PayloadTypeTests(PostgresFixture database) : IAsyncLifetime
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly ThreadSafeTestScheduler _scheduler = new();
    private readonly List<IAsyncDisposable> _cleanup = [];
    private string _schema = "";
    private EventBus _bus = null!;

    public async Task InitializeAsync()
    {
        _schema = await database.CreateSchemaAsync(nameof(PayloadTypeTests));
        _bus = new EventBus(new EventBusOptions { Topics = ["orders", "refunds", "readings", "blocked"], Scheduler = _scheduler });
        _scheduler.AdvanceBy(TimeSpan.FromDays(365 * 2025));
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_cleanup);
        _bus.Dispose();
    }

    [Theory]
    [InlineData(PayloadType.Jsonb)]
    [InlineData(PayloadType.Json)]
    [InlineData(PayloadType.Bytea)]
    public async Task RoundTrip_PayloadType_ConsumerStoreReplayAndSubscriptionAllReadWhatWasPublished(PayloadType type)
    {
        var serializer = Orders();
        var table = "round_trip_" + Name(type);
        var consumer = await StartAsync(table, type, serializer, constraint: "topic <> 'refunds'");
        var order = _bus.CreateEvent("orders", new Order(7, "Zoë 😀 \"quoted\" 東京")) with { TransactionId = Guid.NewGuid() };
        var refund = _bus.CreateEvent("refunds", new Order(8, "back")) with { Ttl = TimeSpan.FromMinutes(5) };

        await consumer.PublishAsync(order).WaitAsync(Limit);

        // The write is awaited before the consumer answers the bus (completed); publishing the same id again before
        // that is refused by the bus as a duplicate pending event.
        await Wait.UntilAsync(() => _bus.Diagnostics.PendingEvents == 0, "the consumer answers the first publish");
        await consumer.PublishAsync(order).WaitAsync(Limit);
        var refused = () => consumer.PublishAsync(refund).WaitAsync(Limit);
        (await refused.Should().ThrowAsync<EventNotPersistedException>()).Which.Outcome.Should().Be(PersistenceOutcome.DeadLettered);
        await consumer.StopWithinAsync();

        (await DataTypeAsync(table)).Should().Be(Name(type), "the library creates the data column of the configured type");
        consumer.Statistics.Duplicates.Should().Be(1, "the second write of the same event went through the staging table, made from the table");
        var json = await serializer.SerializeAsync(order, CancellationToken.None);
        if (type == PayloadType.Bytea)
        {
            (await StoredBytesAsync(table, order.Id)).Should().Equal(json, "bytea holds the serializer's bytes as they are");
        }
        else
        {
            (await Sql.ScalarAsync<string>(database.ConnectionString, $"select data->>'Note' from {_schema}.{table} where id = '{order.Id}'"))
                .Should().Be("Zoë 😀 \"quoted\" 東京", "SQL reads inside a json or jsonb payload");
        }

        if (type == PayloadType.Json)
        {
            (await StoredTextAsync(table, order.Id)).Should().Be(Encoding.UTF8.GetString(json), "json keeps the text as it was written");
        }

        // Every reader below is configured for another payload type than the table's: each follows the column.
        var other = new EventTable(_schema, table, new EventTableDesign { Payload = Other(type) });
        var store = new EventStore(database.DataSource, other, serializer, _scheduler);
        (await store.FindAsync(order.Id)).Should().Be(order, "the store reads the payload whatever the column's type");
        (await store.AllAsync(1, 10)).Should().Equal(order);
        (await store.ReadAsync(EventFilter.All).ToListAsync()).Should().Equal(order);

        await Sql.ExecuteAsync(database.ConnectionString, $"alter table {_schema}.{table} drop constraint refused");
        var replay = await new DeadLetterStore(database.DataSource, other, _scheduler).ReplayToTableAsync(refund.Id, TimeSpan.FromMinutes(15));
        replay.Outcome.Should().Be(DeadLetterReplayOutcome.Replayed, replay.Reason);
        (await store.FindAsync(refund.Id)).Should().Be(refund, "the replayed dead letter is stored as it was published");
        if (type != PayloadType.Jsonb)
        {
            (await StoredBytesAsync(table, refund.Id)).Should().Equal(
                await serializer.SerializeAsync(refund, CancellationToken.None), "a json or bytea column takes the dead letter's bytes unchanged, not reformatted by jsonb");
        }

        var subscription = new EventSubscription(database.DataSource, other, serializer, new EventSubscriptionOptions());
        _cleanup.Add(subscription);
        (await TakeAsync(subscription, 2)).Should().Equal([order, refund], "a subscription reads the payload whatever the column's type");
    }

    [Theory]
    [InlineData(PayloadType.Json)]
    [InlineData(PayloadType.Bytea)]
    public async Task Write_NulEscapeInPayload_JsonAndByteaStoreIt(PayloadType type)
    {
        var serializer = Orders();
        var table = "nul_" + Name(type);
        var consumer = await StartAsync(table, type, serializer);
        var order = _bus.CreateEvent("orders", new Order(1, "a\0b"));

        await consumer.PublishAsync(order).WaitAsync(Limit);
        await consumer.StopWithinAsync();

        (await consumer.DeadLetterStore.CountAsync()).Should().Be(0, $"{Name(type)} holds the \\u0000 escape");
        (await consumer.Store.FindAsync(order.Id))!.Data.Should().Be(new Order(1, "a\0b"), "the NUL comes back as it was published");
        (await StoredBytesAsync(table, order.Id)).Should().Equal(await serializer.SerializeAsync(order, CancellationToken.None));
    }

    [Fact]
    public async Task Write_NulEscapeInPayload_JsonbDeadLettersIt()
    {
        var consumer = await StartAsync("nul_jsonb", PayloadType.Jsonb, Orders());
        var order = _bus.CreateEvent("orders", new Order(1, "a\0b"));

        var act = () => consumer.PublishAsync(order).WaitAsync(Limit);

        (await act.Should().ThrowAsync<EventNotPersistedException>()).Which.Outcome.Should().Be(PersistenceOutcome.DeadLettered);
        await consumer.StopWithinAsync();
        var letter = (await consumer.DeadLetterStore.FindAsync(order.Id))!;
        letter.Reason.Should().Contain("PostgreSQL jsonb cannot hold", "the map stage refuses it before it reaches a batch");
        letter.ErrorType.Should().Be(PostgresErrorCodes.UntranslatableCharacter);
    }

    [Fact]
    public async Task RoundTrip_NonJsonSerializerIntoBytea_StoresItsBytesAndEveryReaderGetsThemBack()
    {
        var serializer = new ReadingSerializer();
        var consumer = await StartAsync("binary", PayloadType.Bytea, serializer, constraint: "topic <> 'blocked'");
        var reading = _bus.CreateEvent("readings", new Reading(3, -1.25));
        var blocked = _bus.CreateEvent("blocked", new Reading(4, 2.5));

        await consumer.PublishAsync(reading).WaitAsync(Limit);
        var refused = () => consumer.PublishAsync(blocked).WaitAsync(Limit);
        (await refused.Should().ThrowAsync<EventNotPersistedException>()).Which.Outcome.Should().Be(PersistenceOutcome.DeadLettered);
        await consumer.StopWithinAsync();

        (await StoredBytesAsync("binary", reading.Id)).Should().Equal(ReadingSerializer.Bytes(new Reading(3, -1.25)), "bytea stores whatever bytes the serializer makes");
        (await consumer.Store.FindAsync(reading.Id)).Should().Be(reading);
        await Sql.ExecuteAsync(database.ConnectionString, $"alter table {_schema}.binary drop constraint refused");
        var replay = await consumer.DeadLetterStore.ReplayToTableAsync(blocked.Id, TimeSpan.FromMinutes(15));
        replay.Outcome.Should().Be(DeadLetterReplayOutcome.Replayed, "a bytea column takes the dead letter's bytes as they are, not as UTF-8 text: {0}", replay.Reason);
        (await consumer.Store.FindAsync(blocked.Id)).Should().Be(blocked);
        var subscription = new EventSubscription(database.DataSource, consumer.Table, serializer, new EventSubscriptionOptions());
        _cleanup.Add(subscription);
        (await TakeAsync(subscription, 2)).Should().Equal(reading, blocked);
    }

    [Fact]
    public async Task ReplayDeadLetterAsync_NonJsonSerializerIntoBytea_PublishesThePayloadFromTheStoredBytes()
    {
        var serializer = new ReadingSerializer();
        var consumer = await StartAsync("binary_replayed", PayloadType.Bytea, serializer, constraint: "topic <> 'blocked'");
        var blocked = _bus.CreateEvent("blocked", new Reading(4, 2.5));
        var refused = () => consumer.PublishAsync(blocked).WaitAsync(Limit);
        (await refused.Should().ThrowAsync<EventNotPersistedException>()).Which.Outcome.Should().Be(PersistenceOutcome.DeadLettered);
        await Sql.ExecuteAsync(database.ConnectionString, $"alter table {_schema}.binary_replayed drop constraint refused");

        var replay = await consumer.ReplayDeadLetterAsync(blocked.Id).WaitAsync(Limit);

        replay.Outcome.Should().Be(DeadLetterReplayOutcome.Replayed, "the payload is read from the stored bytes, which are not UTF-8: {0}", replay.Reason);
        await consumer.StopWithinAsync();
        (await StoredBytesAsync("binary_replayed", blocked.Id)).Should().Equal(ReadingSerializer.Bytes(new Reading(4, 2.5)));
        (await consumer.Store.FindAsync(blocked.Id)).Should().Be(blocked);
    }

    [Fact]
    public async Task Write_NonJsonSerializerIntoJsonb_DeadLettersWhatTheServerRefuses()
    {
        var consumer = await StartAsync("binary_into_jsonb", PayloadType.Jsonb, new ReadingSerializer());
        var reading = _bus.CreateEvent("readings", new Reading(3, -1.25));

        var act = () => consumer.PublishAsync(reading).WaitAsync(Limit);

        (await act.Should().ThrowAsync<EventNotPersistedException>()).Which.Outcome.Should().Be(PersistenceOutcome.DeadLettered,
            "jsonb takes only JSON: a serializer of another format needs bytea");
        await consumer.StopWithinAsync();
    }

    private async Task<PostgresConsumer> StartAsync(string table, PayloadType type, IEventSerializer serializer, string? constraint = null)
    {
        var consumer = new PostgresConsumer(_bus, new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString,
            Schema = _schema,
            Table = table,
            PayloadType = type,
            MaxBatchSize = 1,
            MaxBatchDelay = TimeSpan.FromHours(1),
            AutoDeleteWithTtl = false,
            Serializer = serializer,
        });
        _cleanup.Add(consumer);
        await SchemaManager.EnsureSchemaAsync(database.DataSource, consumer.Table);
        if (constraint is not null)
        {
            await Sql.ExecuteAsync(database.ConnectionString, $"alter table {_schema}.{table} add constraint refused check ({constraint})");
        }

        await consumer.StartAsync();
        return consumer;
    }

    private static JsonEventSerializer Orders() => new JsonEventSerializer().MapTopic<Order>("orders").MapTopic<Order>("refunds");

    private static string Name(PayloadType type) => type.ToString().ToLowerInvariant();

    private static PayloadType Other(PayloadType type) => (PayloadType)(((int)type + 1) % 3);

    private Task<string> DataTypeAsync(string table) => Sql.ScalarAsync<string>(
        database.ConnectionString,
        $"select format_type(atttypid, atttypmod) from pg_attribute where attrelid = '{_schema}.{table}'::regclass and attname = 'data'");

    // The column's bytes: a json column's text as UTF-8, a bytea column's bytes.
    private async Task<byte[]> StoredBytesAsync(string table, Guid id)
    {
        await using var command = database.DataSource.CreateCommand($"select data from {_schema}.{table} where id = '{id}'");
        await using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).Should().BeTrue();
        return reader.GetDataTypeName(0) == "bytea" ? reader.GetFieldValue<byte[]>(0) : Encoding.UTF8.GetBytes(reader.GetString(0));
    }

    private Task<string> StoredTextAsync(string table, Guid id) =>
        Sql.ScalarAsync<string>(database.ConnectionString, $"select data::text from {_schema}.{table} where id = '{id}'");

    private static Task<List<Event>> TakeAsync(EventSubscription subscription, int count) => SubscriptionReads.TakeAsync(subscription, count, Limit);

    private sealed record Order(int Number, string Note);

    private sealed record Reading(int Sensor, double Value);

    // Not JSON: a marker byte that is never UTF-8 (0xFE), the sensor as 4 bytes and the value as 8, big-endian.
    private sealed class ReadingSerializer : IEventSerializer
    {
        internal static byte[] Bytes(Reading reading)
        {
            var bytes = new byte[13];
            bytes[0] = 0xFE;
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(1), reading.Sensor);
            BinaryPrimitives.WriteDoubleBigEndian(bytes.AsSpan(5), reading.Value);
            return bytes;
        }

        public ValueTask<byte[]> SerializeAsync(Event @event, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Bytes((Reading)@event.Data));

        public object Deserialize(string topic, ReadOnlySpan<byte> json)
        {
            if (json.Length != 13 || json[0] != 0xFE)
            {
                throw new FormatException($"Not a reading: {Convert.ToHexString(json)}.");
            }

            return new Reading(BinaryPrimitives.ReadInt32BigEndian(json[1..]), BinaryPrimitives.ReadDoubleBigEndian(json[5..]));
        }
    }
}
