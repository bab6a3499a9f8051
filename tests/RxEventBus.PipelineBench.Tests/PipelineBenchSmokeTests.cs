using System.Text;
using Xunit.Abstractions;

namespace RxEventBus.PipelineBench.Tests;

/// <summary>
/// Runs the harness as the documented command does, with a small N: each mode must finish with exit code 0,
/// which it returns only when every contender stored exactly the events it was given. Throughput and latency
/// figures are printed to the test output, never asserted.
/// </summary>
/// <remarks>
/// The harness starts its own throwaway cluster, or uses <c>RXEB_TEST_DATABASE_URL</c> when set, like the
/// other Postgres tests. The tests of this class run one at a time (one class, one xunit collection), which
/// the console capture needs.
/// </remarks>
public sealed class PipelineBenchSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Throughput_TenThousandEventsOneRun_EveryContenderStoresEveryRow()
    {
        var (exitCode, printed) = await RunAsync("--events", "10000", "--runs", "1");

        exitCode.Should().Be(0, "the harness exits 1 when a contender's row count is wrong");
        printed.Should().Contain("every contender stored exactly 10,000 rows in every run");
        printed.Should().Contain("| d/a |").And.Contain("| d/b |").And.Contain("| d/c |", "the ratios the issue asks for are reported");
        printed.Should().Contain("| d/a-seed |", "issue 13: (d) against raw COPY into the seed's table layout is in every default run");
    }

    [Fact]
    public async Task Throughput_SeedLayoutAndMinimalLayout_TablesAreWhatTheyClaim()
    {
        var (exitCode, printed) = await RunAsync("--events", "3000", "--runs", "1", "--contenders", "a-seed,a,d,a-pk", "--layout", "minimal");

        exitCode.Should().Be(0, "a-seed's count is taken from its own table, and a-pk drops only the indexes the layout has");
        printed.Should().Contain("our table: IndexLayout Minimal");
        printed.Should().Contain("| d/a-seed |").And.Contain("| d/a |");
    }

    [Theory]
    [InlineData("default", "events_expires_at_idx USING brin (expires_at) WITH (autosummarize='on'); events_occurred_at_idx USING btree (occurred_at); events_pkey USING btree (id); events_transaction_id_idx USING btree (transaction_id) WHERE (transaction_id IS NOT NULL); events_tx_position_idx")]
    [InlineData("full", "events_expires_at_idx USING btree (expires_at); events_occurred_at_idx USING btree (occurred_at); events_pkey USING btree (id); events_topic_idx USING btree (topic); events_transaction_id_idx USING btree (transaction_id); events_tx_position_idx")]
    [InlineData("minimal", "events_expires_at_idx USING brin (expires_at) WITH (autosummarize='on'); events_pkey USING btree (id); events_tx_position_idx")]
    public async Task Sustained_SmallSlices_ReportsEverySliceAndSizesOfTheLayoutsTable(string layout, string indexes)
    {
        var (exitCode, printed) = await RunAsync(
            // One writer: the sampler sees each 1,000-row boundary only if the 500-row batches commit one at a time.
            "--mode", "sustained", "--events", "5000", "--slice", "1000", "--batch-size", "500", "--pool-size", "1", "--layout", layout);

        exitCode.Should().Be(0, "the sustained mode exits 1 when the table does not hold every event");
        printed.Should().Contain("indexes at the end: " + indexes, "the consumer writes into the table of --layout, and adds no index of another");
        printed.Should().Contain("| 5 | 5,000 |", "every slice of 1,000 rows is reported, the last included");
        printed.Should().Contain("first slice").And.Contain("last slice");
        printed.Should().Contain("| total (pg_total_relation_size) |").And.Contain("| all indexes (pg_indexes_size) |");
        printed.Should().Contain("row count: exactly 5,000 rows stored");
    }

    [Theory]
    [InlineData("default", "using events_transaction_id_idx")]
    [InlineData("minimal", "Seq Scan on events")]
    public async Task Queries_SmallTable_EveryQueryReturnsWhatTheTableHoldsWithItsPlan(string layout, string transactionPlan)
    {
        var (exitCode, printed) = await RunAsync(
            "--mode", "queries", "--events", "20000", "--query-runs", "5", "--query-seconds", "1", "--layout", layout);

        exitCode.Should().Be(0, "the queries mode exits 1 when a call's result differs from what the table holds");
        printed.Should().Contain("results: every call returned what the table holds");
        foreach (var query in new[]
                 {
                     "| FindAsync(id) | 5 |", "| FindAllByTransactionIdAsync(tx, 1, 100) | 5 |", "| CountPerTopicAsync() | 5 |",
                     "| CountPerTopicAsync(T) | 5 |", "| AllAsync(1, 100, T) | 5 |", "| CountAsync(T) | 5 |",
                     "| ReadAsync(Since T), first 1,000 | 5 |", "| EventSubscription catch-up of 10,000 from a checkpoint | 5 |",
                 })
        {
            printed.Should().Contain(query);
        }

        printed.Should().Contain("(200 rows at or after it, the newest 1%)");
        printed.Should().MatchRegex(@"\| FindAllByTransactionIdAsync\(tx, 1, 100\) \|[^\n]*" + System.Text.RegularExpressions.Regex.Escape(transactionPlan),
            "the plan shown is the layout's: the transaction id index, or none");
    }

    [Theory]
    [InlineData("bytea", "Bytea")]
    [InlineData("json", "Json")]
    [InlineData("jsonb", "Jsonb")]
    public async Task Throughput_Payload_EveryWriterStoresThePayloadAsTheColumnsType(string payload, string payloadType)
    {
        var (exitCode, printed) = await RunAsync(
            "--events", "3000", "--runs", "1", "--payload", payload, "--contenders", "a,a-async,a-seed,b,c,d,d-pre12,p-sync,p-async");

        // After each contender the harness reads its table's data column type (information_schema), pg_typeof of a
        // stored row and whether that row holds the payload sent; any difference exits 1. A jsonb COPY into a
        // bytea column is accepted by the server, so only that check catches a writer that ignored --payload.
        exitCode.Should().Be(0, "every contender writes the data column's type, and the stored payload is the one it was given");
        printed.Should().Contain($"our table: IndexLayout Default, PayloadType {payloadType} (");
        printed.Should().Contain($"data column: {payload} in every writing contender's table");
        printed.Should().Contain("every contender stored exactly 3,000 rows in every run");
    }

    // Two types, so that whichever the library's default is, one of them is not it.
    [Theory]
    [InlineData("bytea")]
    [InlineData("json")]
    public async Task CatchUp_PayloadType_TableHasItAndEveryReaderReadsEveryRow(string payload)
    {
        var (exitCode, printed) = await RunAsync(
            "--mode", "catchup", "--events", "5000", "--runs", "1", "--payload", payload, "--readers", "raw,raw-parse,sub,sub-bytes");

        exitCode.Should().Be(0, "the raw reader reads a bytea column as bytes, and the subscription reads any payload type");
        printed.Should().Contain("data column " + payload + Environment.NewLine, "the mode creates its table with --payload's type");
        printed.Should().Contain("every reader read exactly 5,000 events, ending with the table's last row");
    }

    [Fact]
    public async Task Throughput_DiagnosticContendersAndOverrides_RunAndCount()
    {
        var (exitCode, printed) = await RunAsync(
            "--events", "5000", "--runs", "1", "--contenders", "a-async,a-pk,p-sync,p-nodb,p-async,bus,d@batch=1000+pool=2+buffer=500");

        exitCode.Should().Be(0);
        printed.Should().Contain("MaxBatchSize 1000, PoolSize 2, BufferSize 500", "an override changes the consumer's options");
    }

    [Fact]
    public async Task Memory_TwoSmallCountsOnASlowedDatabase_BothStored()
    {
        var (exitCode, printed) = await RunAsync(
            "--mode", "memory", "--memory-events", "3000,6000", "--slow-ms", "5", "--batch-size", "1000", "--buffer-size", "1000");

        exitCode.Should().Be(0, "the memory mode checks its row counts too");
        printed.Should().Contain("| 3,000 |").And.Contain("| 6,000 |");
    }

    [Fact]
    public async Task Latency_TwoSecondsAtAThousandPerSecond_ReportsPercentiles()
    {
        var (exitCode, printed) = await RunAsync("--mode", "latency", "--rate", "1000", "--seconds", "2");

        exitCode.Should().Be(0, "every published event must be found committed");
        printed.Should().Contain("| Publish → commit | p50 | p90 | p99 |");
    }

    [Fact]
    public async Task CatchUp_TwentyThousandEvents_EveryReaderReadsEveryRowToTheLast()
    {
        var (exitCode, printed) = await RunAsync(
            "--mode", "catchup", "--events", "20000", "--runs", "1", "--readers", "raw,raw-parse,sub,sub-named,sub-typed,sub-bytes,sub-none,sub@page=500");

        exitCode.Should().Be(0, "the catch-up mode exits 1 when a reader's count or last event differs from the table's");
        printed.Should().Contain("every reader read exactly 20,000 events, ending with the table's last row");
        printed.Should().Contain("PageSize 500", "page= sets the subscription's page size");
        printed.Should().Contain("target sub ≥ 0.8 × raw", "the issue's ratio is reported");
    }

    [Fact]
    public async Task Live_OneSecondAtFiveHundredPerSecond_AnotherProcessReceivesEveryEventWithAndWithoutNotify()
    {
        var (exitCode, printed) = await RunAsync("--mode", "live", "--rate", "500", "--seconds", "1", "--warmup-seconds", "1", "--runs", "1");

        exitCode.Should().Be(0, "the live mode exits 1 when the subscriber process misses an event or does not start");
        printed.Should().Contain("| 1 | True | 500 |").And.Contain("| 1 | False | 500 |", "both variants are measured, the warm-up left out");
        printed.Should().Contain("| NotifyOnCommit | p50 ms | p99 ms |");
    }

    [Fact]
    public async Task Throughput_WriterCost_PreIssue12TableAgainstTodays_RatiosPerRun()
    {
        var (exitCode, printed) = await RunAsync(
            "--events", "5000", "--runs", "2", "--order", "alternate", "--contenders", "d-pre12,d-noindex,d@notify=off,d@seqcache=1,d");

        exitCode.Should().Be(0, "d-pre12 stores every row into the old table (its preparation fails if the table has tx or position)");
        printed.Should().Contain("What the position and the notifications cost the writer");
        printed.Should().Contain("| d@notify=off |").And.Contain("| d-noindex |").And.Contain("| d@seqcache=1 |").And.Contain("| d |");
        printed.Should().Contain("NotifyOnCommit False)").And.Contain("NotifyOnCommit True)", "notify= sets the consumer's NotifyOnCommit");
        printed.Should().Contain("NotifyOnCommit True), position sequence CACHE 1 |", "seqcache= sets the sequence's cache, read back from pg_sequence");
        printed.Should().Contain("NotifyOnCommit True), position sequence CACHE 1000 |", "the table as the library creates it has the cache");
    }

    [Theory]
    [InlineData("--contenders", "z")]
    [InlineData("--readers", "raw,zz")]
    [InlineData("--mode", "subscriber")]
    [InlineData("--notify", "maybe")]
    [InlineData("--order", "random")]
    [InlineData("--layout", "huge")]
    [InlineData("--payload", "xml")]
    public async Task BadArguments_ExitTwoWithUsage(string name, string value)
    {
        var (exitCode, _) = await RunAsync(name, value);

        exitCode.Should().Be(2);
    }

    private async Task<(int ExitCode, string Printed)> RunAsync(params string[] args)
    {
        var url = Environment.GetEnvironmentVariable("RXEB_TEST_DATABASE_URL");
        if (!string.IsNullOrWhiteSpace(url))
        {
            args = [.. args, "--database-url", url];
        }

        var printed = new StringBuilder();
        var original = Console.Out;
        var originalError = Console.Error;
        await using var capture = new StringWriter(printed);
        Console.SetOut(capture);
        Console.SetError(capture);
        int exitCode;
        try
        {
            exitCode = await Harness.RunAsync(args);
        }
        finally
        {
            Console.SetOut(original);
            Console.SetError(originalError);
        }

        output.WriteLine(printed.ToString());
        return (exitCode, printed.ToString());
    }
}
