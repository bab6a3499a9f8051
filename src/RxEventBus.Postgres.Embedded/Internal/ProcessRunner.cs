using System.ComponentModel;
using System.Diagnostics;

namespace RxEventBus.Postgres.Embedded.Internal;

/// <summary>What a finished process printed and returned.</summary>
internal sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>Standard error, else standard output: where PostgreSQL's tools say why they failed.</summary>
    public string Diagnostics => (StandardError.Trim().Length > 0 ? StandardError : StandardOutput).Trim();
}

/// <summary>Runs a tool to completion with an argument list (never a shell string) and a timeout.</summary>
internal static class ProcessRunner
{
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        string workingDirectory,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        // PGHOST, PGPORT, PGDATA, PGOPTIONS… set for the developer's own server must not steer the
        // throwaway one: every tool gets its target from its arguments only.
        foreach (var name in startInfo.Environment.Keys.Where(static k => k.StartsWith("PG", StringComparison.Ordinal)).ToList())
        {
            startInfo.Environment.Remove(name);
        }

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new EmbeddedPostgresException($"Could not run {fileName}: {e.Message}", e);
        }

        // Nothing here reads standard input; closing it keeps a tool that asks (a password prompt) from waiting.
        process.StandardInput.Close();

        // Process timeouts are the one use of the wall clock here: this is tooling, not the bus.
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        var standardOutput = process.StandardOutput.ReadToEndAsync(timeoutSource.Token);
        var standardError = process.StandardError.ReadToEndAsync(timeoutSource.Token);
        try
        {
            await Task.WhenAll(process.WaitForExitAsync(timeoutSource.Token), standardOutput, standardError).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            cancellationToken.ThrowIfCancellationRequested();
            throw new EmbeddedPostgresException(
                $"{Describe(fileName, startInfo.ArgumentList)} did not finish within {timeout.TotalSeconds:0.#} s and was killed.");
        }

        return new ProcessResult(process.ExitCode, await standardOutput.ConfigureAwait(false), await standardError.ConfigureAwait(false));
    }

    public static string Describe(string fileName, IEnumerable<string> arguments) =>
        string.Join(' ', arguments.Prepend(fileName).Select(static a => a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a));

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited between the timeout and the kill.
        }
    }
}
