using System.Reactive.Linq;
using System.Text.Json;
using Microsoft.Reactive.Testing;
using RxEventBus.Postgres.Tests.Support;
using static RxEventBus.Postgres.Tests.Support.TestEvents;

namespace RxEventBus.Postgres.Tests;

[Collection(SharedPostgres.Name)]
public sealed class EventStoreRoundTripTests(PostgresFixture fixture) : IAsyncLifetime
{
    private EventTable _table = null!;

    public async Task InitializeAsync() => _table = await CreateTableAsync(fixture, "roundtrip");

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task FindAsync_PublishedEventWithTypedPayload_EqualsTheEventPublished()
    {
        // PostgreSQL keeps microseconds, so the bus's clock is set to a whole millisecond.
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.AddMilliseconds(123).UtcTicks);
        using var bus = new EventBus(new EventBusOptions
        {
            Scheduler = scheduler,
            Topics = ["order_placed"],
            DefaultSource = "checkout",
            DefaultTtl = TimeSpan.FromMinutes(30),
        });
        Event? published = null;
        using var capture = bus.Topic("order_placed").Subscribe(e => published = e);
        var payload = new OrderPlaced("A-17", 12.50m, 3, new Customer("Ada", "ada@example.com"), T0.ToOffset(TimeSpan.FromHours(2)));
        bus.Publish(bus.CreateEvent("order_placed", payload) with
        {
            TransactionId = Guid.NewGuid(),
            InitializedAt = T0.AddMilliseconds(100),
        });
        var serializer = new JsonEventSerializer().MapTopic<OrderPlaced>("order_placed");
        await TestRows.InsertAsync(fixture.DataSource, _table, serializer, [published!]);
        var store = new EventStore(fixture.DataSource, _table, serializer, scheduler);

        var read = await store.FindAsync(published!.Id);

        read.Should().Be(published, "a persisted event read back equals the one published");
        read!.Data.Should().BeOfType<OrderPlaced>().Which.Should().Be(payload);
    }

    [Fact]
    public async Task AllAsync_EventWithOnlyRequiredMembers_ReadsNullsBack()
    {
        var bare = new Event { Id = Guid.NewGuid(), Topic = "bare", Data = new Customer("Bob", "bob@example.com") };
        var serializer = new JsonEventSerializer().MapTopic<Customer>("bare");
        await TestRows.InsertAsync(fixture.DataSource, _table, serializer, [bare]);
        var store = new EventStore(fixture.DataSource, _table, serializer, new TestScheduler());

        var all = await store.AllAsync(1, 10, since: null);

        all.Should().Equal(bare);
    }

    [Fact]
    public async Task FindAsync_TopicWithoutType_ReadsTheJsonAsJsonElement()
    {
        var stored = Create("untyped", T0, n: 42);
        await InsertAsync(fixture.DataSource, _table, stored);
        var store = new EventStore(fixture.DataSource, _table, new JsonEventSerializer(), new TestScheduler());

        var read = await store.FindAsync(stored.Id);

        var json = read!.Data.Should().BeOfType<JsonElement>().Subject;
        json.GetProperty("N").GetInt32().Should().Be(42);
        json.GetProperty("Topic").GetString().Should().Be("untyped");
    }

    [Fact]
    public async Task FindAsync_NonAsciiPayload_RoundTripsThroughUtf8()
    {
        var serializer = new JsonEventSerializer().MapTopic<Customer>("people");
        var stored = new Event { Id = Guid.NewGuid(), Topic = "people", Data = new Customer("Zoë 😀 \"quoted\" \\ 東京", "z@example.com") };
        await TestRows.InsertAsync(fixture.DataSource, _table, serializer, [stored]);
        var store = new EventStore(fixture.DataSource, _table, serializer, new TestScheduler());

        (await store.FindAsync(stored.Id))!.Data.Should().Be(stored.Data);
    }

    [Fact]
    public async Task FindAsync_PayloadNoLongerMatchesItsType_ThrowsNamingTheEvent()
    {
        var stored = new Event { Id = Guid.NewGuid(), Topic = "changed", Data = new { Name = new[] { 1, 2 } } };
        await TestRows.InsertAsync(fixture.DataSource, _table, new JsonEventSerializer(), [stored]);
        var store = new EventStore(fixture.DataSource, _table, new JsonEventSerializer().MapTopic<Customer>("changed"), new TestScheduler());

        var find = () => store.FindAsync(stored.Id);

        await find.Should().ThrowAsync<InvalidOperationException>().WithMessage($"*{stored.Id}*'changed'*");
    }

    public sealed record Customer(string Name, string Email);

    public sealed record OrderPlaced(string OrderId, decimal Amount, int Quantity, Customer Customer, DateTimeOffset PlacedAt);
}
