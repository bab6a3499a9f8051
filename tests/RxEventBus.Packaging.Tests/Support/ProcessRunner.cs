using System.Diagnostics;
using System.Text;

namespace RxEventBus.Packaging.Tests.Support;

/// <summary>The outcome of one finished process: its exit code and everything it wrote.</summary>
public sealed record ProcessResult(string Command, int ExitCode, string Output)
{
    /// <summary>For assertion messages: the command, its exit code and the tail of its output.</summary>
    public override string ToString()
    {
        const int tail = 6000;
        var output = Output.Length <= tail ? Output : "…" + Output[^tail..];
        return $"`{Command}` exited {ExitCode}:\n{output}";
    }
}

/// <summary>
/// Runs dotnet and the installed tool for the packaging tests, each under a time limit: a process still running
/// at its limit is killed with its children and the test fails saying so, so nothing here can hang CI.
/// </summary>
internal static class ProcessRunner
{
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        string workingDirectory,
        TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // No MSBuild node or build server outlives the command: a lingering one would keep our output pipes
        // open, and it would serve later builds with this test's environment.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var command = $"{fileName} {string.Join(' ', start.ArgumentList)}";
        var output = new StringBuilder();
        var outputLock = new Lock();
        void Append(string? line)
        {
            if (line is not null)
            {
                lock (outputLock)
                {
                    output.AppendLine(line);
                }
            }
        }

        using var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.Exited += (_, _) => exited.TrySetResult();
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        // Waits on the exit itself, not on the end of the output: a compiler server the build started may hold
        // the pipes open long after the command is done.
        var finished = await Task.WhenAny(exited.Task, Task.Delay(timeout)) == exited.Task;
        if (!finished)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(10));
            throw new TimeoutException($"`{command}` was still running after {timeout.TotalSeconds:0} s and was killed. Its output:\n{Snapshot()}");
        }

        // The last lines may still be in flight; give them a moment, then read what arrived.
        using (var drained = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            try
            {
                await process.WaitForExitAsync(drained.Token);
            }
            catch (OperationCanceledException)
            {
                // The pipes are held by a child that outlived the command: its output so far is enough.
            }
        }

        return new ProcessResult(command, process.ExitCode, Snapshot());

        string Snapshot()
        {
            lock (outputLock)
            {
                return output.ToString();
            }
        }
    }
}
