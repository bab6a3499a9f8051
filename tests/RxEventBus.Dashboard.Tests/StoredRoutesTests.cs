using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RxEventBus.Dashboard.Tests.Support;
using RxEventBus.Hosting;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Dashboard.Tests;

// The stored-event routes, over a real PostgresConsumer on the fixture's database (a bytea table, the default).
[Collection(SharedPostgres.Name)]
public sealed class StoredRoutesTests(PostgresFixture database) : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _cleanup = [];
    private readonly EventBus _bus = new(new EventBusOptions { Topics = ["orders", "refunds"] });
    private string _schema = "";
    private PostgresConsumer _consumer = null!;
    private DashboardHost _host = null!;

    public async Task InitializeAsync()
    {
        _schema = await database.CreateSchemaAsync(nameof(StoredRoutesTests));
        _consumer = await Consumers.StartAsync(database, _bus, _schema, "events");
        _cleanup.Add(_consumer);
        _host = await DashboardHost.StartAsync(s => s.AddSingleton(_bus).AddSingleton(_consumer), o => o.LiveInterval = TimeSpan.FromMilliseconds(100));
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await Cleanup.DisposeAllAsync(_cleanup);
        _bus.Dispose();
    }

    private async Task<List<Event>> PublishStoredAsync(params (string Topic, int Number, Guid? Transaction)[] events)
    {
        var before = _consumer.Statistics.Persisted;
        var published = events.Select(e => _bus.CreateEvent(e.Topic, new Order(e.Number)) with { TransactionId = e.Transaction }).ToList();
        published.ForEach(_bus.Publish);
        await Wait.UntilAsync(() => _consumer.Statistics.Persisted == before + events.Length, "every event is stored");
        return published;
    }

    [Fact]
    public async Task Overview_WithAConsumer_ShowsItsStateAndThatThereIsAStore()
    {
        var overview = await _host.GetJsonAsync("/api/overview");

        overview.GetProperty("store").GetBoolean().Should().BeTrue();
        overview.GetProperty("consumer").Str("state").Should().Be("running");
        overview.GetProperty("consumer").GetProperty("statistics").GetProperty("persisted").GetInt64().Should().Be(0);
        overview.Str("table").Should().Be($"{_schema}.events");
    }

    [Fact]
    public async Task Responses_NeverCarryTheConnectionString()
    {
        await PublishStoredAsync(("orders", 1, null));
        var secrets = new Npgsql.NpgsqlConnectionStringBuilder(database.ConnectionString);

        foreach (var path in new[] { "/api/overview", "/api/stored/events", "/api/dead-letters", "/api/subscribers", "/api/stored/events/x" })
        {
            using var response = await _host.Client.GetAsync(DashboardHost.Prefix + path);
            var body = await response.Content.ReadAsStringAsync();
            body.Should().NotContain(database.ConnectionString).And.NotContainEquivalentOf("password");
            if (!string.IsNullOrEmpty(secrets.Password))
            {
                body.Should().NotContain(secrets.Password);
            }
        }
    }

    [Fact]
    public async Task StoredCounts_PerTopic_AndSinceInTheFutureIsEmpty()
    {
        await PublishStoredAsync(("orders", 1, null), ("orders", 2, null), ("refunds", 3, null));

        var counts = await _host.GetJsonAsync("/api/stored/counts");
        counts.EnumerateArray().Select(c => (c.Str("topic"), c.GetProperty("count").GetInt64()))
            .Should().BeEquivalentTo([("orders", 2L), ("refunds", 1L)]);

        (await _host.GetJsonAsync("/api/stored/counts?since=2999-01-01T00:00:00Z")).GetArrayLength().Should().Be(0);
        (await _host.GetJsonAsync("/api/stored/counts?since=yesterday", HttpStatusCode.BadRequest))
            .GetProperty("detail").GetString().Should().Contain("since");
    }

    private async Task PublishStoredAtAsync(params (string Topic, DateTimeOffset OccurredAt)[] events)
    {
        var before = _consumer.Statistics.Persisted;
        foreach (var (topic, occurredAt) in events)
        {
            _bus.Publish(_bus.CreateEvent(topic, new Order(1)) with { OccurredAt = occurredAt });
        }

        await Wait.UntilAsync(() => _consumer.Statistics.Persisted == before + events.Length, "every event is stored");
    }

    private static readonly DateTimeOffset Ten = new(2026, 1, 1, 10, 0, 0, TimeSpan.Zero);

    private static (string Topic, long[] Counts, long Total)[] Series(JsonElement timeline) =>
        timeline.GetProperty("topics").EnumerateArray()
            .Select(t => (t.Str("topic")!, t.GetProperty("counts").EnumerateArray().Select(c => c.GetInt64()).ToArray(), t.GetProperty("total").GetInt64()))
            .ToArray();

    private static DateTimeOffset[] Starts(JsonElement timeline) =>
        timeline.GetProperty("starts").EnumerateArray().Select(s => s.GetDateTimeOffset()).ToArray();

    [Fact]
    public async Task StoredTimeline_RangeAndInterval_GivesEveryIntervalWithEachTopicsCountsAndZeros()
    {
        await PublishStoredAtAsync(
            ("orders", Ten.AddSeconds(10)), ("orders", Ten.AddSeconds(50)), ("refunds", Ten.AddMinutes(2)),
            ("orders", Ten.AddMinutes(4).AddSeconds(59)), ("orders", Ten.AddMinutes(5)), ("refunds", Ten.AddMinutes(-1)));

        // since inside the first interval is taken back to that interval's start, so every bar is a whole interval.
        var timeline = await _host.GetJsonAsync("/api/stored/timeline?since=2026-01-01T10:00:30Z&until=2026-01-01T10:05:00Z&interval=60");

        timeline.GetProperty("intervalSeconds").GetInt64().Should().Be(60);
        timeline.GetProperty("since").GetDateTimeOffset().Should().Be(Ten);
        timeline.GetProperty("until").GetDateTimeOffset().Should().Be(Ten.AddMinutes(5));
        Starts(timeline).Should().Equal(Enumerable.Range(0, 5).Select(i => Ten.AddMinutes(i)));
        var series = Series(timeline);
        series.Select(s => s.Topic).Should().Equal("orders", "refunds");
        series[0].Counts.Should().Equal(2, 0, 0, 0, 1);
        series[0].Total.Should().Be(3);
        series[1].Counts.Should().Equal(0, 0, 1, 0, 0);
        series[1].Total.Should().Be(1);
    }

    [Fact]
    public async Task StoredTimeline_NoParameters_RunsFromTheFirstStoredEventToNowInAtMost120Intervals()
    {
        var now = DateTimeOffset.UtcNow;
        await PublishStoredAtAsync(("orders", now.AddHours(-3)), ("orders", now.AddMinutes(-90)), ("refunds", now.AddMinutes(-1)));

        var timeline = await _host.GetJsonAsync("/api/stored/timeline");

        var starts = Starts(timeline);
        var interval = TimeSpan.FromSeconds(timeline.GetProperty("intervalSeconds").GetInt64());
        interval.Should().Be(TimeSpan.FromMinutes(2), "the narrowest of the usual widths that covers 3 hours in 120 intervals");
        starts.Length.Should().BeInRange(90, 120);
        starts[0].Should().BeOnOrBefore(now.AddHours(-3)).And.BeAfter(now.AddHours(-3) - interval);
        (starts[^1] + interval).Should().BeAfter(now);
        Series(timeline).Select(s => (s.Topic, s.Total)).Should().Equal(("orders", 2L), ("refunds", 1L));
        Series(timeline).Should().OnlyContain(s => s.Counts.Length == starts.Length && s.Counts.Sum() == s.Total);
    }

    [Fact]
    public async Task StoredTimeline_EmptyStore_IsTheLastHourWithNoTopics()
    {
        var timeline = await _host.GetJsonAsync("/api/stored/timeline");

        timeline.GetProperty("topics").GetArrayLength().Should().Be(0);
        var span = timeline.GetProperty("until").GetDateTimeOffset() - timeline.GetProperty("since").GetDateTimeOffset();
        span.Should().BeCloseTo(TimeSpan.FromHours(1), TimeSpan.FromMinutes(1));
    }

    [Theory]
    [InlineData("interval=0", "interval")]
    [InlineData("interval=1.5", "interval")]
    [InlineData("interval=minute", "interval")]
    [InlineData("interval=99999999999", "interval")]
    [InlineData("since=yesterday", "since")]
    [InlineData("since=0001-01-01T00:00:00Z", "since")]
    [InlineData("since=0001-01-01T00:00:00Z&interval=604800", "since")]
    [InlineData("since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "until")]
    [InlineData("since=2025-01-01T00:00:00Z&until=2026-01-01T00:00:00Z&interval=60", "1000")]
    public async Task StoredTimeline_BadInput_Is400NamingTheProblem(string query, string named)
    {
        var problem = await _host.GetJsonAsync($"/api/stored/timeline?{query}", HttpStatusCode.BadRequest);

        problem.GetProperty("detail").GetString().Should().Contain(named);
    }

    [Fact]
    public async Task StoredEvents_SearchByTopicTransactionIdAndLimit()
    {
        var transaction = Guid.NewGuid();
        var events = await PublishStoredAsync(("orders", 1, transaction), ("orders", 2, null), ("refunds", 3, transaction));

        Ids(await _host.GetJsonAsync("/api/stored/events?topic=orders")).Should().BeEquivalentTo([events[0].Id, events[1].Id]);
        Ids(await _host.GetJsonAsync($"/api/stored/events?transactionId={transaction}")).Should().BeEquivalentTo([events[0].Id, events[2].Id]);
        Ids(await _host.GetJsonAsync($"/api/stored/events?transactionId={transaction}&topic=refunds")).Should().Equal(events[2].Id);
        Ids(await _host.GetJsonAsync($"/api/stored/events?id={events[1].Id}")).Should().Equal(events[1].Id);
        Ids(await _host.GetJsonAsync($"/api/stored/events?id={events[1].Id}&topic=refunds")).Should().BeEmpty("the other filters still apply");
        Ids(await _host.GetJsonAsync("/api/stored/events?limit=1")).Should().HaveCount(1);
        Ids(await _host.GetJsonAsync("/api/stored/events?until=2000-01-01T00:00:00Z")).Should().BeEmpty();
        Ids(await _host.GetJsonAsync("/api/stored/events?since=2000-01-01T00:00:00Z")).Should().HaveCount(3);
        (await _host.GetJsonAsync("/api/stored/events?limit=999999")).GetProperty("limit").GetInt32().Should().Be(1000, "a limit is capped");
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("id=42", "id")]
    [InlineData("transactionId=x", "transactionId")]
    [InlineData("until=soon", "until")]
    [InlineData("since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "until")]
    public async Task StoredEvents_BadInput_Is400NamingTheParameter(string query, string parameter)
    {
        var problem = await _host.GetJsonAsync($"/api/stored/events?{query}", HttpStatusCode.BadRequest);

        problem.GetProperty("detail").GetString().Should().Contain(parameter);
    }

    [Fact]
    public async Task StoredEvent_JsonPayload_IsData_AndUnknownIs404()
    {
        var stored = (await PublishStoredAsync(("orders", 42, null)))[0];

        var found = await _host.GetJsonAsync($"/api/stored/events/{stored.Id}");
        found.GetProperty("id").GetGuid().Should().Be(stored.Id);
        found.Str("topic").Should().Be("orders");
        found.GetProperty("data").GetProperty("Number").GetInt32().Should().Be(42, "the payload as it is stored, as JSON");
        found.GetProperty("dataBase64").ValueKind.Should().Be(JsonValueKind.Null);

        (await _host.GetJsonAsync($"/api/stored/events/{Guid.NewGuid()}", HttpStatusCode.NotFound)).Problem("No such stored event");
        (await _host.GetJsonAsync("/api/stored/events/nope", HttpStatusCode.BadRequest)).Problem("Bad request");
    }

    [Fact]
    public async Task StoredEvent_PayloadThatIsNotJson_IsDataBase64()
    {
        // Another writer on the same table, whose serializer stores raw bytes.
        using var other = new EventBus(new EventBusOptions { Topics = ["blobs"] });
        var writer = await Consumers.StartAsync(database, other, _schema, "events", o => o.Serializer = new RawBytes());
        _cleanup.Add(writer);
        byte[] bytes = [0xff, 0x00, 0x7b, 0x01];
        var blob = other.Publish("blobs", bytes);
        await Wait.UntilAsync(() => writer.Statistics.Persisted == 1, "the blob is stored");

        var found = await _host.GetJsonAsync($"/api/stored/events/{blob.Id}");

        found.GetProperty("data").ValueKind.Should().Be(JsonValueKind.Null);
        found.Str("dataBase64").Should().Be(Convert.ToBase64String(bytes));
        Ids(await _host.GetJsonAsync("/api/stored/events?topic=blobs")).Should().Equal([blob.Id], "a search lists it too instead of failing");
    }

    [Fact]
    public async Task Live_WithAConsumer_ItsRowsWrittenAndLastBatchMove()
    {
        await using var stream = await SseStream.OpenAsync(_host.Client, DashboardHost.Prefix + "/api/live");
        var (_, first) = await stream.NextAsync();
        first.GetProperty("consumer").Str("state").Should().Be("running");
        var written = first.GetProperty("consumer").GetProperty("rowsWritten").GetInt64();

        await PublishStoredAsync(("orders", 1, null));
        var moved = await stream.UntilAsync("metrics", m => m.GetProperty("consumer").GetProperty("rowsWritten").GetInt64() == written + 1);

        moved.GetProperty("consumer").GetProperty("batches").GetInt64().Should().BeGreaterThan(0);
        moved.GetProperty("consumer").GetProperty("lastBatchSize").GetInt64().Should().Be(1, "batches of one, seen on the meter");
        moved.GetProperty("consumer").GetProperty("lastCopyMs").GetDouble().Should().BeGreaterThan(0);
    }

    [Fact]
    public async Task Hosting_AddPostgresPersistence_TheDashboardFindsItsConsumer()
    {
        await using var host = await DashboardHost.StartAsync(
            s => s.AddRxEventBus(b => b.Topics.Add("orders")).AddPostgresPersistence(),
            build: b => b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["EB_PG_DATABASE_URL"] = database.ConnectionString,
                ["EB_PG_SCHEMA"] = _schema,
                ["EB_PG_TABLE"] = "hosted",
            }));

        var overview = await host.GetJsonAsync("/api/overview");

        overview.GetProperty("consumer").Str("state").Should().Be("running");
        overview.GetProperty("store").GetBoolean().Should().BeTrue();
        overview.Str("table").Should().Be($"{_schema}.hosted");
    }

    private static List<Guid> Ids(JsonElement search) =>
        search.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetGuid()).ToList();
}
