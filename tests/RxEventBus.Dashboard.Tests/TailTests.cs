using Microsoft.Extensions.DependencyInjection;
using RxEventBus.Dashboard.Tests.Support;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Dashboard.Tests;

// api/tail follows the events table, so it shows what any instance commits: here a second bus with its own
// consumer, which the dashboard's app knows nothing of.
[Collection(SharedPostgres.Name)]
public sealed class TailTests(PostgresFixture database) : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _cleanup = [];
    private readonly EventBus _bus = new(new EventBusOptions { Topics = ["orders"] });
    private readonly EventBus _otherInstance = new(new EventBusOptions { Topics = ["orders"] });
    private string _schema = "";

    public async Task InitializeAsync() => _schema = await database.CreateSchemaAsync(nameof(TailTests));

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_cleanup);
        _bus.Dispose();
        _otherInstance.Dispose();
    }

    [Fact]
    public async Task Tail_AnEventCommittedByAnotherInstance_IsStreamed()
    {
        var consumer = await Consumers.StartAsync(database, _bus, _schema, "events");
        _cleanup.Add(consumer);
        var other = await Consumers.StartAsync(database, _otherInstance, _schema, "events");
        _cleanup.Add(other);
        await using var host = await DashboardHost.StartAsync(s => s.AddSingleton(_bus).AddSingleton(consumer));
        await using var tail = await SseStream.OpenAsync(host.Client, DashboardHost.Prefix + "/api/tail");
        await tail.UntilAsync("state", s => s.Str("state") == "live");

        var @event = _otherInstance.CreateEvent("orders", new Order(5)) with { TransactionId = Guid.NewGuid() };
        _otherInstance.Publish(@event);

        var stored = await tail.UntilAsync("stored", _ => true);
        stored.GetProperty("id").GetGuid().Should().Be(@event.Id);
        stored.Str("topic").Should().Be("orders");
        stored.GetProperty("transactionId").GetGuid().Should().Be(@event.TransactionId!.Value);
        stored.GetProperty("data").GetProperty("Number").GetInt32().Should().Be(5);
        stored.Str("position").Should().NotBeNullOrEmpty();
        stored.Str("occurredAt").Should().EndWith("+00:00");
    }
}
