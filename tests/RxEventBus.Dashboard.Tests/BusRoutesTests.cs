using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RxEventBus.Dashboard.Tests.Support;

namespace RxEventBus.Dashboard.Tests;

// The routes that read this process's bus, against a real bus: a tracked subscriber that has not answered keeps
// events pending, as event_bus_metrics showed them.
public sealed class BusRoutesTests : IAsyncLifetime
{
    private readonly EventBus _bus = new(new EventBusOptions { Topics = ["orders", "refunds"] });
    private readonly List<IDisposable> _subscriptions = [];
    private DashboardHost _host = null!;

    public async Task InitializeAsync() => _host = await DashboardHost.StartAsync(s => s.AddSingleton(_bus));

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _subscriptions.ForEach(s => s.Dispose());
        _bus.Dispose();
    }

    private Event PublishOwedByAudit()
    {
        _subscriptions.Add(_bus.Tracked("audit", "orders").Subscribe(_ => { }));
        _subscriptions.Add(_bus.Topic("orders").Subscribe(_ => { }));
        return _bus.Publish("orders", new Order(7));
    }

    [Fact]
    public async Task Overview_BusWithoutPersistence_CountsTheBusAndSaysThereIsNoStore()
    {
        PublishOwedByAudit();

        var overview = await _host.GetJsonAsync("/api/overview");

        overview.GetProperty("bus").GetProperty("topics").GetInt32().Should().Be(2);
        overview.GetProperty("bus").GetProperty("liveSubscriptions").GetInt32().Should().Be(2);
        overview.GetProperty("bus").GetProperty("pendingEvents").GetInt32().Should().Be(1);
        overview.GetProperty("consumer").ValueKind.Should().Be(JsonValueKind.Null);
        overview.GetProperty("store").GetBoolean().Should().BeFalse();
        overview.GetProperty("actionsEnabled").GetBoolean().Should().BeFalse("the dashboard is read-only by default");
    }

    [Fact]
    public async Task Topics_ListEachRegisteredTopicWithItsSubscribersAndPending()
    {
        PublishOwedByAudit();

        var topics = await _host.GetJsonAsync("/api/topics");

        topics.EnumerateArray().Select(t => (t.Str("topic"), t.GetProperty("subscribers").GetInt32(), t.GetProperty("pending").GetInt32()))
            .Should().BeEquivalentTo([("orders", 2, 1), ("refunds", 0, 0)]);
    }

    [Fact]
    public async Task Topic_Registered_ShowsItsPendingEventsWithWhoStillOwesThem()
    {
        var @event = PublishOwedByAudit();

        var topic = await _host.GetJsonAsync("/api/topics/orders");

        topic.Str("topic").Should().Be("orders");
        topic.GetProperty("pending").GetInt32().Should().Be(1);
        var pending = topic.GetProperty("pendingEvents").EnumerateArray().Should().ContainSingle().Subject;
        pending.GetProperty("id").GetGuid().Should().Be(@event.Id);
        pending.GetProperty("subscribers").EnumerateArray().Select(s => s.GetString()).Should().Equal("audit");
        pending.GetProperty("ageSeconds").GetDouble().Should().BeGreaterThanOrEqualTo(0);
    }

    [Fact]
    public async Task Topic_Unregistered_Is404Problem()
    {
        (await _host.GetJsonAsync("/api/topics/nope", HttpStatusCode.NotFound)).Problem("No such topic");
        (await _host.GetJsonAsync("/api/topics/nope/events", HttpStatusCode.NotFound)).Problem("No such topic");
    }

    [Fact]
    public async Task TopicEvents_ListsOnlyEventsStillPending()
    {
        var owed = PublishOwedByAudit();
        var answered = _bus.Publish("orders", new Order(8));
        _bus.MarkCompleted("audit", "orders", answered.Id);

        var events = await _host.GetJsonAsync("/api/topics/orders/events");

        events.EnumerateArray().Select(e => e.GetProperty("id").GetGuid()).Should().Equal(owed.Id);
    }

    [Fact]
    public async Task TopicEvent_Pending_HasItsPayload_AndAnsweredOrUnknownIs404()
    {
        var owed = PublishOwedByAudit();

        var found = await _host.GetJsonAsync($"/api/topics/orders/events/{owed.Id}");
        found.GetProperty("event").GetProperty("data").GetProperty("number").GetInt32().Should().Be(7);
        found.GetProperty("event").GetProperty("occurredAt").GetString().Should().EndWith("+00:00", "times are UTC");

        _bus.MarkCompleted("audit", "orders", owed.Id);
        (await _host.GetJsonAsync($"/api/topics/orders/events/{owed.Id}", HttpStatusCode.NotFound)).Problem("No such pending event");
        (await _host.GetJsonAsync("/api/topics/orders/events/not-a-guid", HttpStatusCode.BadRequest)).Problem("Bad request");
    }

    [Fact]
    public async Task Subscribers_TrackedOnes_HaveTheirOwedCountAndOldestAge()
    {
        PublishOwedByAudit();
        _bus.Publish("orders", new Order(9));

        var subscribers = (await _host.GetJsonAsync("/api/subscribers")).EnumerateArray().ToList();

        subscribers.Should().HaveCount(2);
        var audit = subscribers.Single(s => s.Str("kind") == "tracked");
        audit.Str("name").Should().Be("audit");
        audit.GetProperty("patterns").EnumerateArray().Select(p => p.GetString()).Should().Equal("orders");
        audit.GetProperty("owed").GetInt32().Should().Be(2);
        audit.GetProperty("oldestOwedAgeSeconds").GetDouble().Should().BeGreaterThanOrEqualTo(0);
        var plain = subscribers.Single(s => s.Str("kind") == "topic");
        plain.GetProperty("owed").ValueKind.Should().Be(JsonValueKind.Null, "only tracked subscribers owe answers");
    }

    [Theory]
    [InlineData("/api/stored/counts")]
    [InlineData("/api/stored/timeline")]
    [InlineData("/api/stored/events")]
    [InlineData("/api/stored/events/8d5e5a0e-0000-0000-0000-000000000000")]
    [InlineData("/api/tail")]
    public async Task StoredRoutes_NoStore_Are404ProblemsSayingSo(string path)
    {
        var problem = await _host.GetJsonAsync(path, HttpStatusCode.NotFound);

        problem.Problem("No store is configured");
    }

    [Fact]
    public async Task DeadLetters_NoStore_Is404ProblemSayingSo()
    {
        (await _host.GetJsonAsync("/api/dead-letters", HttpStatusCode.NotFound)).Problem("No dead-letter store is configured");
    }
}

internal sealed record Order(int Number);
