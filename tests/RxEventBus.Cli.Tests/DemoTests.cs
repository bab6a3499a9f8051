using System.Diagnostics;
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
        var (schema, result) = await RunDemoAsync("demo_json", ["--events", "2000", "--json"]);

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
        var (_, result) = await RunDemoAsync("demo_text", ["--events", "3000", "--batch-size", "500", "--workers", "1"]);

        result.ExitCode.Should().Be(ExitCodes.Success);
        result.Out.Should().Contain("published       3,000 events")
            .And.Contain("in PostgreSQL   3,000 rows of this run")
            .And.Contain("fake_event_initialized 3,000")
            .And.Contain("batch size 500")
            .And.Contain("OK: all 3,000 published events are in PostgreSQL.");
        result.Error.Should().BeEmpty();
    });

    [Fact]
    public Task Demo_Json_SaysTheConsumerStoppedAndRefusedNothing() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var (_, result) = await RunDemoAsync("demo_state", ["--events", "500", "--json"]);

        result.ExitCode.Should().Be(ExitCodes.Success);
        using var json = JsonDocument.Parse(result.Out);
        json.RootElement.GetProperty("consumer_state").GetString().Should().Be("stopped", "the demo flushes and stops the consumer before it reports");
        json.RootElement.GetProperty("refused").GetInt64().Should().Be(0, "a buffer the publisher waits on refuses nothing");
        json.RootElement.GetProperty("rejected").GetInt64().Should().Be(0, "the keys that were there stay");
    });

    [Fact]
    public Task Demo_TableWithoutTheNewerColumns_AddsThemSaysWhichAndPersistsEveryEvent() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var (schema, result) = await RunDemoAsync("demo_migrate", ["--events", "100"], created => Sql.ExecuteAsync(postgres.ConnectionString, $"""
            create table {created}.events (
                id uuid primary key, transaction_id uuid, topic text not null, data bytea not null,
                initialized_at timestamptz, occurred_at timestamptz, ttl interval)
            """));

        result.ExitCode.Should().Be(ExitCodes.Success, "missing nullable columns are added, not refused");
        result.Out.Should().Contain("Schema: added column source", "the demo says what it changed in someone else's table")
            .And.Contain("Schema: added column expires_at");
        (await Sql.ScalarAsync<long>(postgres.ConnectionString, $"select count(*) from {schema}.events where source = 'console' and expires_at is not null"))
            .Should().Be(100, "every event is written into the columns just added");
    });

    [Fact]
    public Task Demo_TableOfTheSeedsLayout_ExitsWith1NamingEachDifferenceAndChangesNothing() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var clock = Stopwatch.StartNew();

        var (schema, result) = await RunDemoAsync("demo_seed", ["--events", "100"], created => Sql.ExecuteAsync(postgres.ConnectionString, $"""
            create table {created}.events (
                id uuid primary key, transaction_id uuid, topic varchar, data bytea,
                initialized_at bigint, occurred_at bigint, source varchar, ttl integer)
            """));

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(30), "a table no write can succeed on is refused at start, not retried");
        result.ExitCode.Should().Be(ExitCodes.Failure, "the consumer cannot write to this table");
        result.Error.Should().Contain("occurred_at has type bigint, expected timestamp with time zone", "each difference is named")
            .And.Contain("ttl has type integer, expected interval")
            .And.NotContain("SchemaMismatchException", "the user is told what is wrong, not which exception said so")
            .And.NotContain("   at ", "no stack trace");
        result.Out.Should().NotContain("Publishing", "nothing is published into a table that cannot take it");
        (await Sql.ScalarAsync<bool>(postgres.ConnectionString, $"select to_regclass('{schema}.events_dead_letters') is null"))
            .Should().BeTrue("a table that cannot be migrated is left as it was");
    });

    [Fact]
    public Task Demo_TopicsNotPersisted_ExitsWith1() => postgres.AttachLogOnFailureAsync(output, async () =>
    {
        var (_, result) = await RunDemoAsync("demo_topics", ["--events", "100", "--json", "--topics", "^other$"]);

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

    // A demo run against a schema of its own (made ready by `prepare`), its output attached to the test's.
    private async Task<(string Schema, CliResult Result)> RunDemoAsync(string name, string[] args, Func<string, Task>? prepare = null)
    {
        var schema = await postgres.CreateSchemaAsync(name);
        if (prepare is not null)
        {
            await prepare(schema);
        }

        var result = await InProcess.RunAsync(["demo", .. args, "--database-url", postgres.ConnectionString, "--schema", schema]);
        output.WriteLine(result.ToString());
        return (schema, result);
    }
}
