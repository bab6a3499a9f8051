using System.Diagnostics;
using RxEventBus.Packaging.Tests.Support;

namespace RxEventBus.Packaging.Tests;

/// <summary>
/// The time limit the packaging tests put on every process: what keeps a hung restore, build or demo from
/// hanging CI. Real processes, so real time: the limits are short and the assertions generous.
/// </summary>
public sealed class ProcessRunnerTests
{
    [Fact]
    public async Task RunAsync_ProcessOverrunsItsLimit_IsKilledWithItsChildrenAndReported()
    {
        var marker = Path.Combine(Path.GetTempPath(), "rxeb-runner-" + Guid.NewGuid().ToString("N")[..8]);
        var watch = Stopwatch.StartNew();

        // A shell whose child would write the marker after 3 s: killing the tree must stop the child too.
        var run = () => ProcessRunner.RunAsync(
            "sh", ["-c", $"echo started; (sleep 3; touch {marker}) & wait"], Path.GetTempPath(), TimeSpan.FromMilliseconds(500));

        (await run.Should().ThrowAsync<TimeoutException>()).Which.Message.Should().Contain("was killed").And.Contain("started");
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(3), "the runner gives up at its limit, not when the process ends");
        await Task.Delay(TimeSpan.FromSeconds(4));
        File.Exists(marker).Should().BeFalse("the overrunning process's children were killed with it");
    }

    [Fact]
    public async Task RunAsync_ProcessEndsInTime_ReturnsItsExitCodeAndOutput()
    {
        var result = await ProcessRunner.RunAsync(
            "sh", ["-c", "echo out; echo err >&2; exit 3"], Path.GetTempPath(), TimeSpan.FromSeconds(30));

        result.ExitCode.Should().Be(3);
        result.Output.Should().Contain("out").And.Contain("err");
    }
}
