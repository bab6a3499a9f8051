using System.Text.Json;
using RxEventBus.Postgres;

namespace RxEventBus.Cli.Tests;

public sealed class DemoSummaryTests
{
    [Fact]
    public void WriteJson_IsOneObjectWithTheAgreedKeys()
    {
        var writer = new StringWriter();

        Summary(published: 2000, persisted: 2000).WriteJson(writer);

        var text = writer.ToString();
        text.TrimEnd().Should().NotContain("\n", "the summary is one line of JSON");
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        root.GetProperty("published").GetInt64().Should().Be(2000);
        root.GetProperty("persisted").GetInt64().Should().Be(2000);
        root.GetProperty("elapsed_seconds").GetDouble().Should().Be(0.5);
        root.GetProperty("events_per_second").GetDouble().Should().Be(4000);
        root.GetProperty("topics").GetProperty("fake_event_initialized").GetInt64().Should().Be(2000);
        root.GetProperty("settings").GetProperty("overflow").GetString().Should().Be("wait");
        root.GetProperty("exit_code").GetInt32().Should().Be(0);
        root.GetProperty("kept").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Fact]
    public void ExitCode_EveryPublishedEventPersisted_Is0()
    {
        Summary(published: 10, persisted: 10).ExitCode.Should().Be(ExitCodes.Success);
    }

    [Fact]
    public void ExitCode_AnEventMissing_Is1EvenWhenInterrupted()
    {
        Summary(published: 10, persisted: 9).ExitCode.Should().Be(ExitCodes.Failure);
        (Summary(published: 10, persisted: 9) with { Interrupted = true }).ExitCode.Should().Be(ExitCodes.Failure);
    }

    [Fact]
    public void ExitCode_InterruptedWithEverythingFlushed_IsTheSignals()
    {
        (Summary(published: 10, persisted: 10) with { Interrupted = true, InterruptedExitCode = ExitCodes.Terminated })
            .ExitCode.Should().Be(ExitCodes.Terminated);
    }

    [Fact]
    public void WriteText_SaysWhetherEveryEventIsInPostgres()
    {
        var ok = new StringWriter();
        var failed = new StringWriter();

        Summary(published: 2000, persisted: 2000).WriteText(ok);
        Summary(published: 2000, persisted: 1500).WriteText(failed);

        ok.ToString().Should().Contain("published       2,000 events").And.Contain("OK: all 2,000 published events are in PostgreSQL.");
        failed.ToString().Should().Contain("FAILED: 500 of 2,000 published events are not in PostgreSQL.");
    }

    [Fact]
    public void WriteJson_RefusedAndConsumerState_AreAddedBesideTheKeysThatWereThere()
    {
        var writer = new StringWriter();
        var summary = Summary(published: 10, persisted: 10) with
        {
            Rejected = 2,
            Statistics = new PersistenceStatistics(10, 10, 0, 0, 0, 1, 0) { Refused = 3 },
        };

        summary.WriteJson(writer);

        using var json = JsonDocument.Parse(writer.ToString());
        json.RootElement.GetProperty("refused").GetInt64().Should().Be(3, "refused is the consumer's own count");
        json.RootElement.GetProperty("rejected").GetInt64().Should().Be(2, "rejected stays the publisher's count");
        json.RootElement.GetProperty("consumer_state").GetString().Should().Be("stopped", "states are written in lower case");
    }

    [Fact]
    public void ExitCode_ConsumerFaulted_Is1EvenWithEveryPublishedEventPersisted()
    {
        var summary = Faulted(Summary(published: 10, persisted: 10));

        summary.ExitCode.Should().Be(ExitCodes.Failure, "a faulted consumer is a failed run, whatever reached the table before");
    }

    [Fact]
    public void WriteText_ConsumerFaulted_SaysSoInsteadOfOk()
    {
        var writer = new StringWriter();
        var json = new StringWriter();
        var summary = Faulted(Summary(published: 10, persisted: 10));

        summary.WriteText(writer);
        summary.WriteJson(json);

        writer.ToString().Should().Contain("consumer        faulted: the persistence pipeline failed: boom")
            .And.Contain("FAILED: the persistence consumer faulted; 10 of 10 published events are in PostgreSQL.")
            .And.NotContain("OK:", "a faulted run is never reported as fine");
        using var document = JsonDocument.Parse(json.ToString());
        document.RootElement.GetProperty("consumer_state").GetString().Should().Be("faulted");
        document.RootElement.GetProperty("exit_code").GetInt32().Should().Be(ExitCodes.Failure);
    }

    private static DemoSummary Faulted(DemoSummary summary) =>
        summary with { ConsumerState = ConsumerState.Faulted, ConsumerFault = "the persistence pipeline failed: boom", Interrupted = true };

    private static DemoSummary Summary(long published, long persisted) => new()
    {
        Requested = published,
        Published = published,
        Rejected = 0,
        Persisted = persisted,
        Topics = [new TopicCount("fake_event_initialized", persisted)],
        Elapsed = TimeSpan.FromSeconds(0.5),
        Statistics = new PersistenceStatistics(published, persisted, 0, 0, 0, 1, 0),
        ConsumerState = ConsumerState.Stopped,
        Unwritten = 0,
        Interrupted = false,
        TransactionId = Guid.CreateVersion7(),
        Table = "public.events",
        Database = "postgres://app:***@db.example/events",
        Options = new PostgresPersistenceOptions(),
    };
}
