using System.Diagnostics.Metrics;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using RxEventBus.Postgres;

namespace RxEventBus.Hosting.Tests;

// docs/observability.md is what operators build dashboards and alerts from: its tables must list exactly
// the instruments the meter publishes and the log messages the code defines.
public sealed partial class ObservabilityDocsTests
{
    private static readonly string Doc = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "docs", "observability.md"));

    [Fact]
    public async Task InstrumentTable_ListsEveryInstrumentOfTheMeterWithItsKindAndUnit()
    {
        // Make both packages create their instruments: a publish, and a consumer (never started).
        using var bus = new EventBus(new EventBusOptions { Topics = ["docs"] });
        bus.Publish("docs", 1);
        await using (new PostgresConsumer(bus, new PostgresPersistenceOptions { ConnectionString = "Host=unused.invalid" }))
        {
        }

        var published = new List<(string Name, string Kind, string? Unit)>();
        using (var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == RxEventBusTelemetry.MeterName)
                {
                    published.Add((instrument.Name, instrument.GetType().Name.Split('`')[0], instrument.Unit));
                }
            },
        })
        {
            listener.Start();
        }

        var documented = InstrumentRow().Matches(Doc).Select(m => (m.Groups["name"].Value, m.Groups["kind"].Value, (string?)m.Groups["unit"].Value));

        documented.Should().BeEquivalentTo(published.Distinct(), "docs/observability.md must list the meter's instruments as they are");
    }

    [Fact]
    public void LogTable_ListsEveryLogMessageWithItsIdLevelAndName()
    {
        var defined = new[] { typeof(PostgresConsumer).Assembly, typeof(PostgresPersistenceService).Assembly }
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public))
            .Select(m => (Method: m, Message: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(x => x.Message is not null)
            // A message whose level is a parameter (chosen per call) has no level in its attribute: "Varies".
            .Select(x => (x.Message!.EventId, x.Message.Level is >= LogLevel.Trace and <= LogLevel.Critical ? x.Message.Level.ToString() : "Varies", x.Method.Name));

        var documented = LogRow().Matches(Doc).Select(m => (int.Parse(m.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture), m.Groups["level"].Value, m.Groups["name"].Value));

        documented.Should().BeEquivalentTo(defined, "docs/observability.md must list the log messages as the code defines them");
        defined.Select(d => d.EventId).Should().OnlyHaveUniqueItems("an event id names one message across the packages");
    }

    [GeneratedRegex(@"^\| `(?<name>rxeventbus\.[a-z_.]+)` \| (?<kind>\w+) \| `(?<unit>[^`]+)` \|", RegexOptions.Multiline)]
    private static partial Regex InstrumentRow();

    [GeneratedRegex(@"^\| (?<id>\d+) \| (?<level>\w+) \| `(?<name>\w+)` \|", RegexOptions.Multiline)]
    private static partial Regex LogRow();
}
