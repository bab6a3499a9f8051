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
    public async Task BadArguments_ExitTwoWithUsage()
    {
        var (exitCode, _) = await RunAsync("--contenders", "z");

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
