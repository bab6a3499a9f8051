using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.OpenTelemetry.Tests;

// Real OpenTelemetry providers, built as an application builds them, exporting to lists. Meters and activity
// sources are process-wide and test classes run in parallel, so each test looks only at what carries its own
// topic or table.
[Collection(SharedPostgres.Name)]
public sealed class InstrumentationTests(PostgresFixture database) : IAsyncLifetime
{
    private string _schema = "";

    public async Task InitializeAsync() => _schema = await database.CreateSchemaAsync(nameof(InstrumentationTests));

    public Task DisposeAsync() => Task.CompletedTask;

    private static MeterProvider Meters(List<Metric> exported, bool instrumented)
    {
        var builder = Sdk.CreateMeterProviderBuilder();
        if (instrumented)
        {
            builder.AddRxEventBusInstrumentation();
        }

        return builder.AddInMemoryExporter(exported).Build();
    }

    private static TracerProvider Tracer(List<Activity> exported, bool instrumented)
    {
        var builder = Sdk.CreateTracerProviderBuilder();
        if (instrumented)
        {
            builder.AddRxEventBusInstrumentation();
        }

        return builder.AddInMemoryExporter(exported).Build();
    }

    // The sum of a counter over the points carrying tag=value, or null if the counter was not exported at all.
    private static long? Sum(List<Metric> exported, string instrument, string tag, string value)
    {
        var metrics = exported.Where(m => m.Name == instrument).ToList();
        if (metrics.Count == 0)
        {
            return null;
        }

        long sum = 0;
        foreach (var metric in metrics)
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                foreach (var pair in point.Tags)
                {
                    if (pair.Key == tag && (string?)pair.Value == value)
                    {
                        sum += point.GetSumLong();
                    }
                }
            }
        }

        return sum;
    }

    private static string UniqueTopic() => "otel." + Guid.NewGuid().ToString("N");

    [Fact]
    public void AddRxEventBusInstrumentation_MeterProvider_ExportsTheBussPublishedAndRejectedCounters()
    {
        var exported = new List<Metric>();
        using var provider = Meters(exported, instrumented: true);
        var topic = UniqueTopic();
        var unregistered = UniqueTopic();
        using var bus = new EventBus(new EventBusOptions { Topics = [topic] });

        bus.Publish(topic, 1);
        bus.Publish(topic, 2);
        bus.Publish(topic, 3);
        var misrouted = () => bus.Publish(unregistered, 4);
        misrouted.Should().Throw<TopicNotRegisteredException>();
        provider.ForceFlush().Should().BeTrue();

        exported.Should().Contain(m => m.Name == "rxeventbus.events.published" && m.Unit == "{event}" && m.MeterName == RxEventBusTelemetry.MeterName);
        Sum(exported, "rxeventbus.events.published", "topic", topic).Should().Be(3, "three events were published to this test's topic");
        Sum(exported, "rxeventbus.events.rejected", "topic", unregistered).Should().Be(1, "one publish went to a topic that is not registered");
    }

    [Fact]
    public void MeterProviderWithoutInstrumentation_Publish_ExportsNoRxEventBusInstrument()
    {
        var exported = new List<Metric>();
        using var provider = Meters(exported, instrumented: false);
        var topic = UniqueTopic();
        using var bus = new EventBus(new EventBusOptions { Topics = [topic] });

        bus.Publish(topic, 1);
        provider.ForceFlush();

        exported.Should().NotContain(m => m.MeterName == RxEventBusTelemetry.MeterName,
            "OpenTelemetry collects only the meters it is told about; the instrumentation is what names ours");
    }

    [Fact]
    public async Task AddRxEventBusInstrumentation_ConsumerWritesToPostgres_ExportsItsCountersAndOneBatchSpan()
    {
        var metrics = new List<Metric>();
        var spans = new List<Activity>();
        using var meterProvider = Meters(metrics, instrumented: true);
        using var tracerProvider = Tracer(spans, instrumented: true);
        var table = $"{_schema}.instrumented";

        await WriteThroughAConsumerAsync("instrumented", events: 4);
        meterProvider.ForceFlush().Should().BeTrue();
        tracerProvider.ForceFlush().Should().BeTrue();

        Sum(metrics, "rxeventbus.events.persisted", "table", table).Should().Be(4, "the consumer committed four events to this table");
        metrics.Should().Contain(m => m.Name == "rxeventbus.batch.size" && m.MetricType == MetricType.Histogram);
        metrics.Should().Contain(m => m.Name == "rxeventbus.copy.duration" && m.Unit == "s");
        spans.Where(a => (string?)a.GetTagItem("db.collection.name") == table).Should().ContainSingle(
            "the four events were cut into one batch, written in one span")
            .Which.Should().Match<Activity>(a => a.OperationName == "rxeventbus.batch.write"
                && a.Source.Name == RxEventBusTelemetry.ActivitySourceName
                && (int?)a.GetTagItem("rxeventbus.batch.size") == 4
                && (string?)a.GetTagItem("rxeventbus.batch.outcome") == "committed"
                && a.Status == ActivityStatusCode.Ok);
    }

    [Fact]
    public async Task ProvidersWithoutInstrumentation_ConsumerWritesToPostgres_ExportNothingOfRxEventBus()
    {
        var metrics = new List<Metric>();
        var spans = new List<Activity>();
        using var meterProvider = Meters(metrics, instrumented: false);
        using var tracerProvider = Tracer(spans, instrumented: false);

        await WriteThroughAConsumerAsync("uninstrumented", events: 2);
        meterProvider.ForceFlush();
        tracerProvider.ForceFlush();

        metrics.Should().NotContain(m => m.MeterName == RxEventBusTelemetry.MeterName);
        spans.Should().NotContain(a => a.Source.Name == RxEventBusTelemetry.ActivitySourceName,
            "OpenTelemetry samples only the sources it is told about");
    }

    // A real consumer writing to a table of its own: every event published before the stop, in one batch (the
    // batch delay is an hour and the batch size above the count, so only the stop cuts it).
    private async Task WriteThroughAConsumerAsync(string table, int events)
    {
        var topic = UniqueTopic();
        using var bus = new EventBus(new EventBusOptions { Topics = [topic] });
        await using var consumer = new PostgresConsumer(bus, new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString,
            Schema = _schema,
            Table = table,
            Topics = [topic],
            MaxBatchSize = 100,
            MaxBatchDelay = TimeSpan.FromHours(1),
            ShutdownTimeout = TimeSpan.FromMinutes(1),
        });
        await consumer.StartAsync();

        for (var i = 0; i < events; i++)
        {
            bus.Publish(topic, new { Number = i });
        }

        await consumer.StopWithinAsync();
        consumer.Statistics.Persisted.Should().Be(events);
    }
}
