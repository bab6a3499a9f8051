using System.Text.Json;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;

namespace RxEventBus.Postgres.Tests.Reliability;

// Hostile and broken input on its way to PostgreSQL: each is stored faithfully, or dead-lettered with a
// reason while the rest of its batch commits — never a batch failing forever, never a silent loss.
[Collection(SharedPostgres.Name)]
public sealed class BadInputTests(PostgresFixture database) : IAsyncLifetime
{
    private const string NastyTopic = "o'rders\"; DROP TABLE events; --";
    private readonly List<DeadLetter> _deadLetters = [];
    private string _schema = "";
    private EventBus _bus = null!;
    private PostgresConsumer _consumer = null!;

    public async Task InitializeAsync()
    {
        _schema = await database.CreateSchemaAsync(nameof(BadInputTests));
        // Virtual time at a whole millisecond: PostgreSQL keeps microseconds, so equality survives the trip.
        var scheduler = new ThreadSafeTestScheduler();
        scheduler.AdvanceBy(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero) - DateTimeOffset.MinValue);
        _bus = new EventBus(new EventBusOptions { Topics = ["orders", NastyTopic], Scheduler = scheduler });
        _consumer = new PostgresConsumer(_bus, new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString,
            Schema = _schema,
            Table = "bad",
            MaxBatchSize = 100,
            MaxBatchDelay = TimeSpan.FromHours(1),
            Serializer = new JsonEventSerializer().MapTopic<Note>(NastyTopic).MapTopic<Note>("orders"),
            // The strictest payload type: what jsonb refuses (NUL) must be dead-lettered, not lost (PayloadTypeTests
            // has the other types).
            PayloadType = PayloadType.Jsonb,
        });
        _consumer.DeadLetters.Subscribe(d =>
        {
            lock (_deadLetters)
            {
                _deadLetters.Add(d);
            }
        });
        await _consumer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _consumer.DisposeAsync();
        _bus.Dispose();
    }

    private Task<long> CountAsync() => Sql.ScalarAsync<long>(database.ConnectionString, $"select count(*) from {_schema}.bad");

    [Fact]
    public async Task Write_SqlMetacharactersInTopicSourceAndPayload_AreStoredVerbatim()
    {
        var tricky = "'; DELETE FROM bad; -- \\ \" $$ \\u0000 (a literal backslash-u)";
        var published = _bus.CreateEvent(NastyTopic, new Note(tricky)) with { Source = "src'\"; --" };
        _bus.Publish(published);
        await _consumer.StopWithinAsync();

        var stored = await _consumer.Store.FindAsync(published.Id);
        stored.Should().Be(published, "topic, source and payload come back exactly as published");
        (await CountAsync()).Should().Be(1);
    }

    [Fact]
    public async Task Write_NulCharacterInPayload_IsDeadLetteredAndTheRestCommits()
    {
        _bus.Publish("orders", new Note("fine"));
        var nul = _bus.Publish("orders", new Note("before\0after"));
        _bus.Publish("orders", new Note("fine too"));
        await _consumer.StopWithinAsync();

        _deadLetters.Should().ContainSingle("the bad event is reported").Which.Event.Should().Be(nul);
        _deadLetters[0].Reason.Should().Contain("NUL");
        (await CountAsync()).Should().Be(2, "the two good events of the same batch are stored");
        _bus.Diagnostics.PendingEvents.Should().Be(0, "dead letters are answered, not left pending");
    }

    [Fact]
    public async Task Write_UnpairedSurrogateInPayload_IsStoredAsTheReplacementCharacter()
    {
        // Decided: a payload's text is stored as valid Unicode. System.Text.Json writes an unpaired surrogate
        // as U+FFFD, which jsonb accepts; the alternative (dead-lettering) would lose the rest of the payload.
        var published = _bus.Publish("orders", new Note("broken \ud800 text"));
        await _consumer.StopWithinAsync();

        var stored = await _consumer.Store.FindAsync(published.Id);
        ((Note)stored!.Data).Text.Should().Be("broken \ufffd text");
        _deadLetters.Should().BeEmpty();
    }

    [Fact]
    public async Task Write_NulCharacterInSource_IsDeadLetteredWithTheReason()
    {
        var bad = _bus.CreateEvent("orders", new Note("x")) with { Source = "a\0b" };
        _bus.Publish(bad);
        _bus.Publish("orders", new Note("y"));
        await _consumer.StopWithinAsync();

        _deadLetters.Should().ContainSingle().Which.Event.Should().Be(bad);
        _deadLetters[0].Reason.Should().Contain("source").And.Contain("NUL");
        (await CountAsync()).Should().Be(1);
    }

    [Fact]
    public async Task Write_VeryLargePayload_IsStoredWhole()
    {
        var big = new Note(new string('x', 8 * 1024 * 1024));
        var published = _bus.Publish("orders", big);
        await _consumer.StopWithinAsync();

        var stored = await _consumer.Store.FindAsync(published.Id);
        ((Note)stored!.Data).Text.Should().HaveLength(big.Text.Length, "an 8 MB payload is neither truncated nor refused");
    }

    [Fact]
    public async Task Write_PayloadOfAnUnmappedTopicType_ReadsBackAsJson()
    {
        var published = _bus.Publish("orders", new Note("plain"));
        await _consumer.StopWithinAsync();

        var store = new EventStore(database.DataSource, _consumer.Table, new JsonEventSerializer(), _bus.Scheduler);
        var stored = await store.FindAsync(published.Id);
        ((JsonElement)stored!.Data).GetProperty("Text").GetString().Should().Be("plain", "without a mapped type the payload is a JsonElement");
    }

    private sealed record Note(string Text);
}
