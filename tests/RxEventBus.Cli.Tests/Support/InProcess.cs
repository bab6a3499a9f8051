using System.Text;

namespace RxEventBus.Cli.Tests.Support;

/// <summary>What one in-process run of the command line printed and returned.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Error)
{
    public string All => Out + Error;

    public override string ToString() => $"exit code {ExitCode}\n--- stdout ---\n{Out}\n--- stderr ---\n{Error}";
}

/// <summary>
/// Runs <c>rxeventbus</c> in-process, as <c>Program.cs</c> does but with captured output, an environment of the
/// test's own (the machine's EB_PG_* variables never leak in) and a stop signal the test can fire.
/// </summary>
internal static class InProcess
{
    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(new Dictionary<string, string?>(), args);

    public static Task<CliResult> RunAsync(IReadOnlyDictionary<string, string?> environment, params string[] args) =>
        RunAsync(environment, new StopSignal(), onError: null, args);

    /// <param name="environment">The variables the run sees.</param>
    /// <param name="stop">Fire it to play Ctrl+C.</param>
    /// <param name="onError">Called with each line written to standard error (progress lines under --json).</param>
    /// <param name="args">The command line.</param>
    public static Task<CliResult> RunAsync(
        IReadOnlyDictionary<string, string?> environment, StopSignal stop, Action<string>? onError, params string[] args) =>
        RunAsync(environment, stop, onOut: null, onError, args);

    /// <param name="environment">The variables the run sees.</param>
    /// <param name="stop">Fire it to play Ctrl+C.</param>
    /// <param name="onOut">Called with each line written to standard output (the dashboard's URL).</param>
    /// <param name="onError">Called with each line written to standard error (progress lines under --json).</param>
    /// <param name="args">The command line.</param>
    public static async Task<CliResult> RunAsync(
        IReadOnlyDictionary<string, string?> environment, StopSignal stop, Action<string>? onOut, Action<string>? onError, params string[] args)
    {
        var output = new LineWatchingWriter(onOut);
        var error = new LineWatchingWriter(onError);
        var context = new CliContext
        {
            Out = TextWriter.Synchronized(output),
            Error = TextWriter.Synchronized(error),
            OutputIsTerminal = false,
            Environment = name => environment.GetValueOrDefault(name),
            Stop = stop,
            ProgressInterval = TimeSpan.FromMilliseconds(100),
        };

        // A safety net against a hang, not a timing: a demo of a few thousand events takes a second or two.
        var exitCode = await CliApp.RunAsync(args, context).WaitAsync(TimeSpan.FromMinutes(5));
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }

    private sealed class LineWatchingWriter(Action<string>? onLine) : StringWriter
    {
        private readonly StringBuilder _line = new();

        public override void Write(char value)
        {
            base.Write(value);
            if (value == '\n')
            {
                onLine?.Invoke(_line.ToString());
                _line.Clear();
            }
            else
            {
                _line.Append(value);
            }
        }

        // Every other write of StringWriter and TextWriter ends in one of these.
        public override void Write(string? value) => Write((value ?? "").AsSpan());

        public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

        public override void Write(ReadOnlySpan<char> buffer)
        {
            foreach (var c in buffer)
            {
                Write(c);
            }
        }

        public override void WriteLine(string? value)
        {
            Write(value);
            Write(CoreNewLine);
        }

        public override void WriteLine(ReadOnlySpan<char> buffer)
        {
            Write(buffer);
            Write(CoreNewLine);
        }
    }
}
