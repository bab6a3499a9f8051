using RxEventBus.Packaging.Tests.Support;

namespace RxEventBus.Packaging.Tests;

/// <summary>
/// The tool as a user gets it: `dotnet tool install` from the packed folder only (no other source), then
/// `rxeventbus demo --events 1000`, which starts a throwaway PostgreSQL cluster (as root too), persists the
/// events and checks them.
/// </summary>
[Collection(SharedPackages.Name)]
public sealed class ToolTests(PackedPackages packages)
{
    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan DemoTimeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Tool_InstalledFromTheFolder_RunsTheDemoAndPersistsEveryEvent()
    {
        var toolPath = Path.Combine(packages.Root, "tools");
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = packages.PrivatePackagesFolder };

        var install = await ProcessRunner.RunAsync(
            "dotnet",
            ["tool", "install", "RxEventBus.Cli", "--version", packages.Version, "--tool-path", toolPath,
             "--source", packages.Feed],
            packages.Root, InstallTimeout, environment);
        install.ExitCode.Should().Be(0, "the tool should install from the packed folder: {0}", install);
        install.Output.Should().Contain($"(version '{packages.Version}')");

        var command = Path.Combine(toolPath, "rxeventbus");
        File.Exists(command).Should().BeTrue("the tool's command is named rxeventbus");
        var demo = await ProcessRunner.RunAsync(command, ["demo", "--events", "1000"], packages.Root, DemoTimeout);

        demo.ExitCode.Should().Be(0, "the demo exits 0 only if every published event is in PostgreSQL: {0}", demo);
        demo.Output.Should().MatchRegex(@"published\s+1,000 events", "the summary counts the published events");
        demo.Output.Should().MatchRegex(@"in PostgreSQL\s+1,000 rows of this run");
        demo.Output.Should().Contain("OK: all 1,000 published events are in PostgreSQL.");

        // The dashboard runs on the ASP.NET Core shared framework, which the tool's runtimeconfig names: the host
        // resolves it before Main, so a tool that could not find it would fail here.
        var dashboard = await ProcessRunner.RunAsync(command, ["dashboard", "--help"], packages.Root, InstallTimeout);
        dashboard.ExitCode.Should().Be(0, "the installed tool offers the dashboard: {0}", dashboard);
        dashboard.Output.Should().Contain("--allow-remote").And.Contain("--enable-actions");
    }
}
