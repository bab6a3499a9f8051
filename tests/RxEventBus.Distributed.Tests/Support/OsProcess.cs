using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace RxEventBus.Distributed.Tests.Support;

/// <summary>
/// A real OS process the test started — a <c>rxeventbus</c> run or a <c>psql</c> writer — with its standard output and
/// standard error captured line by line as they arrive, so a test can wait for a line, kill the process with
/// SIGKILL mid-stream, or stop it with SIGTERM. Disposing kills whatever is still running, with its children:
/// nothing a test starts outlives it, even when the test fails.
/// </summary>
internal sealed class OsProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _out = [];
    private readonly List<string> _error = [];
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _outClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _errorClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _changed = new(0);

    private OsProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    /// <summary>What the test calls it in messages: <c>tail#1</c>, <c>demo#2</c>, <c>psql late#1</c>.</summary>
    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>The exit code; only once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>The path of the built CLI of this configuration (the project reference builds it first).</summary>
    public static string CliPath
    {
        get
        {
            var path = typeof(OsProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .Single(static a => a.Key == "RxEventBusCliPath").Value!;
            path = Path.GetFullPath(path);
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"The CLI was not built at {path}: build the solution (or the CLI project) in this configuration first.", path);
            }

            return path;
        }
    }

    /// <summary>Starts <c>dotnet RxEventBus.Cli.dll <paramref name="arguments"/></c>.</summary>
    public static OsProcess StartCli(string name, params string[] arguments) => Start(name, "dotnet", [CliPath, .. arguments]);

    /// <summary>Starts <paramref name="fileName"/>; the machine's EB_PG_* variables are not passed on.</summary>
    public static OsProcess Start(string name, string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var variable in start.Environment.Keys.Where(static k => k.StartsWith("EB_PG_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(variable);
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var running = new OsProcess(name, process);
        process.Exited += (_, _) => running.Signal(running._exited);
        process.OutputDataReceived += (_, e) => running.Append(running._out, running._outClosed, e.Data);
        process.ErrorDataReceived += (_, e) => running.Append(running._error, running._errorClosed, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return running;
    }

    /// <summary>The standard output lines so far.</summary>
    public IReadOnlyList<string> Out
    {
        get
        {
            lock (_lock)
            {
                return [.. _out];
            }
        }
    }

    /// <summary>The standard error lines so far.</summary>
    public IReadOnlyList<string> Error
    {
        get
        {
            lock (_lock)
            {
                return [.. _error];
            }
        }
    }

    public int OutCount
    {
        get
        {
            lock (_lock)
            {
                return _out.Count;
            }
        }
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds, checked each time a line arrives or the process exits; fails
    /// saying <paramref name="because"/> (with the process's output) if it does not hold within <paramref name="timeout"/>
    /// — a safety net against a hang, not a timing — or if the process exits without it.
    /// </summary>
    public async Task WaitUntilAsync(Func<OsProcess, bool> condition, string because, TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        while (!condition(this))
        {
            if (HasExited && _outClosed.Task.IsCompleted && _errorClosed.Task.IsCompleted)
            {
                throw new InvalidOperationException($"{Name} exited (code {ExitCode}) before {because}.\n{this}");
            }

            try
            {
                await _changed.WaitAsync(TimeSpan.FromMilliseconds(200), limit.Token);

                // One check for every line that came meanwhile, not one per line.
                while (_changed.Wait(0))
                {
                }
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{Name}: not within {timeout.TotalSeconds:0} s: {because}.\n{this}");
            }
        }
    }

    /// <summary>Waits for the process to exit and its output to be read to the end; kills it at the limit and fails.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        var all = Task.WhenAll(_exited.Task, _outClosed.Task, _errorClosed.Task);
        if (await Task.WhenAny(all, Task.Delay(timeout)) != all)
        {
            Kill();
            throw new TimeoutException($"{Name} was still running after {timeout.TotalSeconds:0} s and was killed.\n{this}");
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>SIGKILL, as <c>kill -9</c>: no handler runs, nothing is flushed.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It had exited already.
        }
    }

    /// <summary>SIGTERM, as a service manager stops a process.</summary>
    public async Task TerminateAsync()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
    }

    public override string ToString()
    {
        static string Tail(IReadOnlyList<string> lines, int count) =>
            string.Join('\n', lines.Count <= count ? lines : ["…", .. lines.Skip(lines.Count - count)]);

        var exit = HasExited ? $"exited {ExitCode}" : "running";
        return $"--- {Name} ({exit}): stdout ({OutCount} lines), last lines ---\n{Tail(Out, 5)}\n--- {Name}: stderr ---\n{Tail(Error, 40)}";
    }

    public async ValueTask DisposeAsync()
    {
        if (!HasExited)
        {
            Kill();
            await Task.WhenAny(_exited.Task, Task.Delay(TimeSpan.FromSeconds(10)));
        }

        _process.Dispose();
        _changed.Dispose();
    }

    private void Append(List<string> lines, TaskCompletionSource closed, string? line)
    {
        if (line is null)
        {
            Signal(closed);
            return;
        }

        lock (_lock)
        {
            lines.Add(line);
        }

        Wake();
    }

    private void Signal(TaskCompletionSource done)
    {
        done.TrySetResult();
        Wake();
    }

    private void Wake()
    {
        try
        {
            _changed.Release();
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: nobody is waiting any more.
        }
    }
}
