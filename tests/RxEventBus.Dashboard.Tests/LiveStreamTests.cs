using Microsoft.Extensions.DependencyInjection;
using RxEventBus.Dashboard.Tests.Support;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Dashboard.Tests;

// api/live: Server-Sent Events of this process's metrics, one message per LiveInterval.
public sealed class LiveStreamTests : IAsyncLifetime
{
    // A topic no other test publishes to: the publish counter is process-wide.
    private readonly string _topic = $"live-{Guid.NewGuid():N}";
    private readonly CountingScheduler _scheduler = new();
    private EventBus _bus = null!;
    private DashboardHost _host = null!;

    public async Task InitializeAsync()
    {
        _bus = new EventBus(new EventBusOptions { Topics = [_topic], Scheduler = _scheduler });
        _host = await DashboardHost.StartAsync(s => s.AddSingleton(_bus), o => o.LiveInterval = TimeSpan.FromMilliseconds(100));
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _bus.Dispose();
    }

    [Fact]
    public async Task Live_Framing_RetryFirstThenMetricsMessages_AndThePublishedCountMoves()
    {
        await using var stream = await SseStream.OpenAsync(_host.Client, DashboardHost.Prefix + "/api/live");
        stream.Retry.Should().Be("3000");

        var (name, first) = await stream.NextAsync();
        name.Should().Be("metrics");
        first.GetProperty("at").GetString().Should().EndWith("+00:00");
        Published(first).Should().Be(0);
        first.GetProperty("consumer").ValueKind.Should().Be(System.Text.Json.JsonValueKind.Null, "no consumer is registered");

        _bus.Publish(_topic, new Order(1));
        _bus.Publish(_topic, new Order(2));
        var moved = await stream.UntilAsync("metrics", m => Published(m) == 2);

        moved.GetProperty("pendingEvents").GetInt32().Should().Be(0);
    }

    [Fact]
    public async Task Live_ClientGoesAway_TheStreamEndsAndItsTimerIsDisposed()
    {
        var stream = await SseStream.OpenAsync(_host.Client, DashboardHost.Prefix + "/api/live");
        await stream.NextAsync();
        _scheduler.ActiveTimers.Should().Be(1, "the open stream ticks on the bus's scheduler");

        await stream.DisposeAsync();

        await Wait.UntilAsync(() => _scheduler.ActiveTimers == 0, "the endpoint ends when RequestAborted fires, and disposes its timer");
        await using var again = await SseStream.OpenAsync(_host.Client, DashboardHost.Prefix + "/api/live");
        (await again.NextAsync()).Event.Should().Be("metrics");
    }

    [Fact]
    public async Task Live_AppStopsWhileAPageIsOpen_TheStreamEndsAndTheStopDoesNotWaitForTheClient()
    {
        var stream = await SseStream.OpenAsync(_host.Client, DashboardHost.Prefix + "/api/live");
        await stream.NextAsync();

        // The client stays connected; only the app's stopping can end the endpoint. Without it, StopAsync waits for the
        // request until the host's ShutdownTimeout (30 s by default) runs out.
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var stopping = _host.App.StopAsync(bounded.Token);
        await Wait.UntilAsync(() => _scheduler.ActiveTimers == 0, "the endpoint ends on ApplicationStopping and disposes its timer");
        await stopping;
        bounded.IsCancellationRequested.Should().BeFalse("the stop ended the stream itself, not the 20 s bound");
        await stream.DisposeAsync();
    }

    private long Published(System.Text.Json.JsonElement metrics) =>
        metrics.GetProperty("topics").EnumerateArray().Single(t => t.Str("topic") == _topic).GetProperty("published").GetInt64();
}
