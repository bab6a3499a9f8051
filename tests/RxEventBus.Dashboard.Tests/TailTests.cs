using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using RxEventBus.Postgres;
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

    // The app's own data source, unpooled and named, so that each connection the tail holds is a row of
    // pg_stat_activity (application_name) while it is open, and gone once it is released.
    private (NpgsqlDataSource DataSource, string Application) NamedUnpooledDataSource(string prefix)
    {
        var application = $"{prefix}-{Guid.NewGuid():N}"[..20];
        return (NpgsqlDataSource.Create(
            new NpgsqlConnectionStringBuilder(database.ConnectionString) { Pooling = false, ApplicationName = application }.ConnectionString),
            application);
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

    [Fact]
    public async Task Tail_FiveOpenPages_ShareOneSubscriptionsConnections_AllGetTheEvent_AndLeavingReleasesThem()
    {
        var consumer = await Consumers.StartAsync(database, _bus, _schema, "events");
        _cleanup.Add(consumer);
        var other = await Consumers.StartAsync(database, _otherInstance, _schema, "events");
        _cleanup.Add(other);
        var (dataSource, application) = NamedUnpooledDataSource("tail");
        await using var _ = dataSource;
        await using var host = await DashboardHost.StartAsync(s => s.AddSingleton(_bus).AddSingleton(consumer).AddSingleton(dataSource));

        var tails = new List<SseStream>();
        try
        {
            var opening = Enumerable.Range(0, 5).Select(_ => SseStream.OpenAsync(host.Client, DashboardHost.Prefix + "/api/tail")).ToList();
            tails.AddRange(await Task.WhenAll(opening));
            await Task.WhenAll(tails.Select(t => t.UntilAsync("state", s => s.Str("state") == "live")));
            // The listener connects beside the reading session; once it has, the subscription holds all it will.
            await Wait.UntilAsync(() => Connections(application, listening: true) >= 1, "the tail's subscription listens");
            Connections(application, listening: false).Should().Be(2, "five pages share one subscription: its session and its listener");
            Connections(application, listening: true).Should().Be(1);

            var @event = _otherInstance.CreateEvent("orders", new Order(7));
            _otherInstance.Publish(@event);
            var received = await Task.WhenAll(tails.Select(t => t.UntilAsync("stored", _ => true)));
            received.Select(r => r.GetProperty("id").GetGuid()).Should().AllBeEquivalentTo(@event.Id);
        }
        finally
        {
            foreach (var tail in tails)
            {
                await tail.DisposeAsync();
            }
        }

        await Wait.UntilAsync(() => Connections(application, listening: false) == 0, "the last page to leave stops the subscription and closes its connections");
    }

    [Fact]
    public async Task Tail_AppStopsWhileAPageIsOpen_TheStreamEnds_AndTheSubscriptionsConnectionsAreReleased()
    {
        var consumer = await Consumers.StartAsync(database, _bus, _schema, "events");
        _cleanup.Add(consumer);
        var (dataSource, application) = NamedUnpooledDataSource("stop");
        await using var _ = dataSource;
        await using var host = await DashboardHost.StartAsync(s => s.AddSingleton(_bus).AddSingleton(consumer).AddSingleton(dataSource));
        await using var tail = await SseStream.OpenAsync(host.Client, DashboardHost.Prefix + "/api/tail");
        await tail.UntilAsync("state", s => s.Str("state") == "live");

        // The client stays connected: only the app's stopping can end the stream.
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await host.App.StopAsync(bounded.Token);
        bounded.IsCancellationRequested.Should().BeFalse("the stop ended the stream itself, not the 20 s bound");
        await FluentActions.Awaiting(tail.NextAsync).Should().ThrowAsync<Exception>("the stream ended with the app");
        await Wait.UntilAsync(() => Connections(application, listening: false) == 0, "the app's stop stops the shared subscription");
    }

    [Fact]
    public async Task Tail_APageThatDoesNotRead_IsDroppedWithAMessage_WithoutHoldingTheOthersBack()
    {
        var consumer = await Consumers.StartAsync(database, _bus, _schema, "events");
        _cleanup.Add(consumer);
        var other = await Consumers.StartAsync(database, _otherInstance, _schema, "events");
        _cleanup.Add(other);
        await using var host = await DashboardHost.StartAsync(s => s.AddSingleton(_bus).AddSingleton(consumer), o => o.TailClientQueue = 2);
        await using var slow = await SseStream.OpenAsync(host.Client, DashboardHost.Prefix + "/api/tail");
        await slow.UntilAsync("state", s => s.Str("state") == "live");
        await using var fast = await SseStream.OpenAsync(host.Client, DashboardHost.Prefix + "/api/tail");
        await fast.UntilAsync("state", s => s.Str("state") == "live");

        // The slow page reads nothing more: its response fills, then its queue of two; the fast one gets every event.
        var published = new List<Guid>();
        var padding = new string('x', 16 * 1024);
        for (var i = 0; i < 40; i++)
        {
            var @event = _otherInstance.CreateEvent("orders", new Padded(i, padding));
            _otherInstance.Publish(@event);
            published.Add(@event.Id);
            (await fast.UntilAsync("stored", _ => true)).GetProperty("id").GetGuid().Should().Be(@event.Id);
        }

        // Now the slow page reads: what it had queued, then why its stream ended, then the end.
        var ids = new List<Guid>();
        string? why = null;
        while (why is null)
        {
            var (name, data) = await slow.NextAsync();
            if (name == "stored")
            {
                ids.Add(data.GetProperty("id").GetGuid());
            }
            else if (name == "error")
            {
                data.Str("error").Should().Be("TooSlow");
                why = data.Str("message");
            }
        }

        why.Should().Contain("behind");
        ids.Should().Equal(published.Take(ids.Count), "what it got is the start of the tail, in order");
        ids.Count.Should().BeLessThan(published.Count);
        await FluentActions.Awaiting(slow.NextAsync).Should().ThrowAsync<EndOfStreamException>("the dropped stream ends; the browser reconnects");
    }

    [Fact]
    public async Task Tail_OnAMissingTable_SendsAnErrorMessage_AndLogsTheFault()
    {
        var logs = new CapturingLoggerProvider();
        var table = new EventTable(_schema, "no_such_table");
        await using var host = await DashboardHost.StartAsync(
            s => s.AddSingleton(_bus).AddSingleton(database.DataSource).AddSingleton(new EventStore(database.DataSource, table, new JsonEventSerializer(), _bus.Scheduler)),
            build: b => b.Logging.AddProvider(logs));
        await using var tail = await SseStream.OpenAsync(host.Client, DashboardHost.Prefix + "/api/tail");

        System.Text.Json.JsonElement? error = null;
        while (error is null)
        {
            var (name, data) = await tail.NextAsync();
            if (name == "error")
            {
                error = data;
            }
        }

        error.Value.Str("message").Should().Contain("no_such_table");
        await FluentActions.Awaiting(tail.NextAsync).Should().ThrowAsync<EndOfStreamException>("the error ends the stream");
        logs.Entries.Should().Contain(e => e.Level == LogLevel.Error && e.Id == 33 && e.Message.Contains("no_such_table"),
            "the subscription's fault is logged through the app's logging");
    }

    private int Connections(string application, bool listening)
    {
        using var connection = new NpgsqlConnection(database.ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1" + (listening ? " AND query LIKE 'LISTEN %'" : ""), connection);
        command.Parameters.AddWithValue(application);
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private sealed record Padded(int Number, string Note);

    private sealed record Entry(LogLevel Level, int Id, string Category, string Message);

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<Entry> _entries = new();

        public IReadOnlyCollection<Entry> Entries => _entries;

        public ILogger CreateLogger(string categoryName) => new Capturing(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Capturing(CapturingLoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                provider._entries.Enqueue(new Entry(logLevel, eventId.Id, category, formatter(state, exception)));
        }
    }
}
