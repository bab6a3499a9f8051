using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;

namespace RxEventBus.OpenTelemetry.Tests;

// The wiring README.md and docs/observability.md show, in a real host: AddOpenTelemetry() with the one line.
public sealed class HostWiringTests
{
    [Theory]
    [InlineData(true, 2L)]
    [InlineData(false, null)]
    public async Task AddOpenTelemetry_WithMetricsAsTheReadmeShows_ExportsTheHostedBussPublishes(bool instrumented, long? expected)
    {
        var exported = new List<Metric>();
        var topic = "otel_host." + Guid.NewGuid().ToString("N");
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddRxEventBus(bus => bus.Topics.Add(topic));
        builder.Services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            if (instrumented)
            {
                metrics.AddRxEventBusInstrumentation();
            }

            metrics.AddInMemoryExporter(exported);
        });
        using var host = builder.Build();
        await host.StartAsync();

        var bus = host.Services.GetRequiredService<EventBus>();
        bus.Publish(topic, 1);
        bus.Publish(topic, 2);
        host.Services.GetRequiredService<MeterProvider>().ForceFlush().Should().BeTrue();
        await host.StopAsync();

        var published = exported.Where(m => m.Name == "rxeventbus.events.published").ToList();
        long? sum = published.Count == 0 ? null : published.Sum(m => SumFor(m, topic));
        sum.Should().Be(expected, instrumented ? "the one line collects the bus's meter" : "without it, OpenTelemetry never listens to our meter");
    }

    private static long SumFor(Metric metric, string topic)
    {
        long sum = 0;
        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            foreach (var tag in point.Tags)
            {
                if (tag.Key == "topic" && (string?)tag.Value == topic)
                {
                    sum += point.GetSumLong();
                }
            }
        }

        return sum;
    }
}
