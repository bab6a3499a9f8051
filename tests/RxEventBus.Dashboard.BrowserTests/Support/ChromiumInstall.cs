using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace RxEventBus.Dashboard.BrowserTests.Support;

/// <summary>
/// Finds the browser and its driver, installs them when either is missing, and otherwise explains why the browser
/// tests cannot run. The paths and the installer are parameters so that <c>ChromiumInstallTests</c> can drive every
/// outcome without touching the machine's packages; the defaults are Debian's packages, installed with apt-get.
/// </summary>
internal sealed class ChromiumInstall
{
    /// <summary>The default installer: <c>apt-get update</c>, then <c>apt-get install -y chromium chromium-driver</c>.</summary>
    public static readonly IReadOnlyList<InstallStep> AptGet =
    [
        new("apt-get", ["update"]),
        new("apt-get", ["install", "-y", "chromium", "chromium-driver"]),
    ];

    /// <summary>Debian's <c>chromium</c>.</summary>
    public string BrowserPath { get; init; } = "/usr/bin/chromium";

    /// <summary>Debian's <c>chromium-driver</c>.</summary>
    public string DriverPath { get; init; } = "/usr/bin/chromedriver";

    /// <summary>The commands run, in order, when a binary is missing; the first that fails ends the install.</summary>
    public IReadOnlyList<InstallStep> Installer { get; init; } = AptGet;

    /// <summary>How long the whole install may take before its running command is killed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Null when both binaries are there (before, or after installing them); otherwise why not: which binary is
    /// missing, each command run with its exit code (or that it timed out, or could not be run) and its output.
    /// </summary>
    public async Task<string?> FindOrInstallAsync()
    {
        var missing = Missing();
        if (missing.Count == 0)
        {
            return null;
        }

        var log = new StringBuilder();
        var deadline = Stopwatch.StartNew();
        foreach (var step in Installer)
        {
            var left = Timeout - deadline.Elapsed;
            var (outcome, ok, output) = left <= TimeSpan.Zero
                ? ($"was not run: the install's {Seconds(Timeout)} were used up", false, "")
                : await RunAsync(step, left);
            log.Append("$ ").Append(step).Append("  # ").AppendLine(outcome);
            if (output.Length > 0)
            {
                log.AppendLine(output);
            }

            if (!ok)
            {
                return $"{Describe(missing)} and could not be installed: '{step}' {outcome}.{Environment.NewLine}{log}";
            }
        }

        var stillMissing = Missing();
        return stillMissing.Count == 0
            ? null
            : $"{Describe(missing)}; the installer ran without an error ({string.Join(", then ", Installer.Select(static s => $"'{s}'"))}) " +
              $"but {string.Join(" and ", stillMissing)} {(stillMissing.Count == 1 ? "is" : "are")} still missing.{Environment.NewLine}{log}";
    }

    private List<string> Missing() => [.. new[] { BrowserPath, DriverPath }.Where(static p => !File.Exists(p))];

    private static string Describe(List<string> missing) =>
        $"Chromium is missing ({string.Join(" and ", missing)} not found; the browser tests need both)";

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    /// <summary>Runs one step: its outcome ("exited with 100", "timed out: …", "could not be run: …") and its output.</summary>
    private static async Task<(string Outcome, bool Ok, string Output)> RunAsync(InstallStep step, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(step.File)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in step.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{step.File} did not start.");
        }
        catch (Win32Exception e)
        {
            return ($"could not be run: {e.Message}", false, "");
        }

        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var limit = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return ($"timed out: gave up after {Seconds(timeout)} and killed it", false, await OutputAsync(stdout, stderr));
            }

            var code = process.ExitCode;
            return ($"exited with {code.ToString(CultureInfo.InvariantCulture)}", code == 0, await OutputAsync(stdout, stderr));
        }
    }

    // Bounded: a child that outlived the kill and still holds the pipes must not hold the fixture.
    private static async Task<string> OutputAsync(Task<string> stdout, Task<string> stderr)
    {
        var both = Task.WhenAll(stdout, stderr);
        if (await Task.WhenAny(both, Task.Delay(TimeSpan.FromSeconds(5))) != both)
        {
            return "(its output was not closed 5 s after it ended)";
        }

        return (await stdout + await stderr).TrimEnd();
    }
}

/// <summary>One command of an installer: a program and its arguments (no shell).</summary>
internal sealed record InstallStep(string File, IReadOnlyList<string> Arguments)
{
    public override string ToString() => string.Join(' ', [File, .. Arguments]);
}
