using System.Text.Json;
using RxEventBus.Cli.Tests.Support;
using RxEventBus.Postgres.Tests.Support;
using RxEventBus.Tests.Common;
using Xunit.Abstractions;

namespace RxEventBus.Cli.Tests;

// The demo end to end against a real PostgreSQL (the shared test database), each test in a schema of its own.
[Collection(SharedPostgres.Name)]
public sealed class DemoTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [Fact]
    public Task Demo_Json_PrintsOneObjectOnStdoutWithEveryEventPersisted() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await postgres.CreateSchemaAsync("demo_json");

        var result = await InProcess.RunAsync("demo", "--events", "2000", "--json", "--database-url", postgres.ConnectionString, "--schema", schema);

        output.WriteLine(result.ToString());
        result.ExitCode.Should().Be(ExitCodes.Success);
        using var json = JsonDocument.Parse(result.Out);   // throws if stdout holds anything but the one object
        var summary = json.RootElement;
        summary.GetProperty("published").GetInt64().Should().Be(2000);
        summary.GetProperty("persisted").GetInt64().Should().Be(2000);
        summary.GetProperty("elapsed_seconds").GetDouble().Should().BePositive();
        summary.GetProperty("events_per_second").GetDouble().Should().BePositive();
        summary.GetProperty("topics").GetProperty("fake_event_initialized").GetInt64().Should().Be(2000);
        summary.GetProperty("table").GetString().Should().Be($"{schema}.events");
        result.Error.Should().Contain("Publishing 2,000 events", "notes go to stderr under --json");

        var transactionId = summary.GetProperty("transaction_id").GetString();
        (await Sql.ScalarAsync<long>(postgres.ConnectionString, $"select count(*) from {schema}.events where transaction_id = '{transactionId}'"))
            .Should().Be(2000, "the summary's count must be the table's");
        (await Sql.ScalarAsync<long>(postgres.ConnectionString, $"select count(distinct id) from {schema}.events where source = 'console' and ttl = interval '600 seconds'"))
            .Should().Be(2000, "every event carries the seed's source and ttl");
    });

    [Fact]
    public Task Demo_Text_ShowsProgressAndTheSummary() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await postgres.CreateSchemaAsync("demo_text");

        var result = await InProcess.RunAsync("demo", "--events", "3000", "--database-url", postgres.ConnectionString, "--schema", schema, "--batch-size", "500", "--workers", "1");

        output.WriteLine(result.ToString());
        result.ExitCode.Should().Be(ExitCodes.Success);
        result.Out.Should().Contain("published       3,000 events")
            .And.Contain("in PostgreSQL   3,000 rows of this run")
            .And.Contain("fake_event_initialized 3,000")
            .And.Contain("batch size 500")
            .And.Contain("OK: all 3,000 published events are in PostgreSQL.");
        result.Error.Should().BeEmpty();
    });

    [Fact]
    public Task Demo_TopicsNotPersisted_ExitsWith1() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await postgres.CreateSchemaAsync("demo_topics");

        var result = await InProcess.RunAsync("demo", "--events", "100", "--json", "--database-url", postgres.ConnectionString, "--schema", schema, "--topics", "^other$");

        result.ExitCode.Should().Be(ExitCodes.Failure, "published events that are not in the table fail the run");
        using var json = JsonDocument.Parse(result.Out);
        json.RootElement.GetProperty("published").GetInt64().Should().Be(100);
        json.RootElement.GetProperty("persisted").GetInt64().Should().Be(0);
    });

    [Fact]
    public Task Demo_StopRequested_FlushesWhatWasAcceptedAndExitsWithTheSignalsCode() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var schema = await postgres.CreateSchemaAsync("demo_stop");
        using var stop = new StopSignal();

        // Ctrl+C as soon as the first progress line shows events on their way: far fewer than asked for.
        var result = await InProcess.RunAsync(
            new Dictionary<string, string?>(),
            stop,
            line =>
            {
                if (line.Contains("publishing:", StringComparison.Ordinal) && !line.Contains("published 0/", StringComparison.Ordinal))
                {
                    stop.Request(ExitCodes.Interrupted);
                }
            },
            "demo", "--events", "50000000", "--json", "--database-url", postgres.ConnectionString, "--schema", schema);

        output.WriteLine(result.ToString());
        result.ExitCode.Should().Be(ExitCodes.Interrupted);
        using var json = JsonDocument.Parse(result.Out);
        var summary = json.RootElement;
        summary.GetProperty("interrupted").GetBoolean().Should().BeTrue();
        summary.GetProperty("published").GetInt64().Should().BePositive().And.BeLessThan(50_000_000);
        summary.GetProperty("persisted").GetInt64().Should().Be(summary.GetProperty("published").GetInt64(), "what was accepted is flushed");
        summary.GetProperty("unwritten").GetInt64().Should().Be(0);
    });
}
