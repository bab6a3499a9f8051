namespace RxEventBus.Cli;

/// <summary>
/// Ctrl+C and SIGTERM, as the commands see them. The first request stops publishing and lets the consumer flush
/// what it accepted; a second one stops waiting for that flush. Either way the command still removes its
/// throwaway cluster and prints its summary, which a process ended by the signal itself would not do.
/// </summary>
internal sealed class StopSignal : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abandoning = new();
    private int _requests;
    private int _exitCode;

    /// <summary>Fires on the first request: stop publishing, flush, report.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Fires on the second request: stop waiting for the flush.</summary>
    public CancellationToken Abandoning => _abandoning.Token;

    /// <summary>Whether a stop was requested.</summary>
    public bool IsRequested => Volatile.Read(ref _requests) > 0;

    /// <summary>The exit code the first request asked for (128 + the signal's number), or 0 if none came.</summary>
    public int ExitCode => Volatile.Read(ref _exitCode);

    /// <summary>Requests a stop; <paramref name="exitCode"/> is what the process exits with if the run was cut short.</summary>
    public void Request(int exitCode)
    {
        if (Interlocked.Increment(ref _requests) == 1)
        {
            Volatile.Write(ref _exitCode, exitCode);
            _stopping.Cancel();
        }
        else
        {
            _abandoning.Cancel();
        }
    }

    /// <summary>Completes, without an exception, once <paramref name="stopping"/> fires: how a command that serves until
    /// Ctrl+C or SIGTERM waits for it.</summary>
    public static async Task UntilStoppedAsync(CancellationToken stopping)
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (stopping.Register(() => stopped.TrySetResult()))
        {
            await stopped.Task;
        }
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _abandoning.Dispose();
    }
}
