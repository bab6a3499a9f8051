using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using RxEventBus.Cli.Tests.Support;
using Xunit.Abstractions;

namespace RxEventBus.Cli.Tests;

// The demo with no database given: it starts its own throwaway PostgreSQL, as on a fresh clone.
public sealed partial class EmbeddedDemoTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Demo_NoDatabaseGiven_RunsOnAThrowawayClusterAndRemovesIt()
    {
        var result = await InProcess.RunAsync("demo", "--events", "2000", "--json");

        output.WriteLine(result.ToString());
        result.ExitCode.Should().Be(ExitCodes.Success);
        using var json = JsonDocument.Parse(result.Out);
        json.RootElement.GetProperty("published").GetInt64().Should().Be(2000);
        json.RootElement.GetProperty("persisted").GetInt64().Should().Be(2000);
        var folder = Folder().Match(json.RootElement.GetProperty("database").GetString()!);
        folder.Success.Should().BeTrue("the summary says where the cluster was");
        Directory.Exists(folder.Groups[1].Value).Should().BeFalse("the throwaway cluster is removed at the end");
        json.RootElement.GetProperty("kept").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Fact]
    public async Task Demo_Keep_LeavesTheClusterForQueriesAndSaysHowToRemoveIt()
    {
        var result = await InProcess.RunAsync("demo", "--events", "300", "--json", "--keep");
        output.WriteLine(result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        var kept = json.RootElement.GetProperty("kept");
        var folder = Folder().Match(json.RootElement.GetProperty("database").GetString()!).Groups[1].Value;
        try
        {
            result.ExitCode.Should().Be(ExitCodes.Success);
            var count = await InProcess.RunAsync("query", "count", "--database-url", kept.GetProperty("url").GetString()!);
            count.Out.Trim().Should().Be("300", count.ToString());
        }
        finally
        {
            await RunShellAsync(kept.GetProperty("stop_command").GetString()!);
        }

        Directory.Exists(folder).Should().BeFalse("the printed command removes the cluster");
    }

    private async Task RunShellAsync(string command)
    {
        using var process = Process.Start(new ProcessStartInfo("bash", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        output.WriteLine($"$ {command}\n{await stdout}{await stderr}");
        process.ExitCode.Should().Be(0, "the stop command printed for --keep must work");
    }

    [GeneratedRegex("folder (/\\S+)")]
    private static partial Regex Folder();
}
