namespace RxEventBus.Cli;

/// <summary>
/// What the process hands a command: where to write, whether standard output is a terminal (the live view) or
/// redirected (plain lines), how to read environment variables, and the stop signal. Tests build one around
/// <see cref="StringWriter"/>s and a dictionary, and run the commands in-process.
/// </summary>
internal sealed class CliContext
{
    /// <summary>Standard output: the summary, query results, and (without --json) progress and notes.</summary>
    public required TextWriter Out { get; init; }

    /// <summary>Standard error: errors, and progress and notes when --json keeps standard output for the JSON.</summary>
    public required TextWriter Error { get; init; }

    /// <summary>Whether <see cref="Out"/> is a terminal, where the live progress view is drawn.</summary>
    public bool OutputIsTerminal { get; init; }

    /// <summary>Reads an environment variable; null when it is not set.</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>Ctrl+C / SIGTERM.</summary>
    public StopSignal Stop { get; init; } = new();

    /// <summary>How often progress is shown as a plain line when the output is not a terminal.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The process's own console.</summary>
    public static CliContext ForConsole(StopSignal stop) => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        OutputIsTerminal = !Console.IsOutputRedirected,
        Stop = stop,
    };
}
