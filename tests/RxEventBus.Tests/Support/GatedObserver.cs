namespace RxEventBus.Tests.Support;

/// <summary>
/// An observer whose <c>OnNext</c> blocks until the test opens its gate, the way a bounded consumer blocks its
/// publisher when its buffer is full. It logs when each notification starts and ends, and counts those that
/// started while another was still running (the Rx contract), so a test can see what reached it while it was
/// blocked and in which order the rest came.
/// </summary>
public sealed class GatedObserver<T> : IObserver<T>, IDisposable
{
    // Bounded, so that a bus that never lets the test open the gate fails the test instead of hanging the run.
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(30);

    private readonly ManualResetEventSlim _gate;
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _logGate = new();
    private readonly List<string> _log = [];
    private int _inside;
    private int _overlaps;

    /// <param name="open">Whether the gate starts open (the observer then never blocks).</param>
    public GatedObserver(bool open = false) => _gate = new ManualResetEventSlim(open);

    /// <summary>Completes once an <c>OnNext</c> has started (and, with the gate closed, is blocked).</summary>
    public Task Entered => _entered.Task;

    /// <summary>"OnNext start", "OnNext end", "OnCompleted", "OnError", in the order they happened.</summary>
    public IReadOnlyList<string> Log
    {
        get
        {
            using (_logGate.EnterScope())
            {
                return [.. _log];
            }
        }
    }

    /// <summary>How many notifications started while another one was still running.</summary>
    public int Overlaps => Volatile.Read(ref _overlaps);

    /// <summary>Lets every blocked and later <c>OnNext</c> through.</summary>
    public void Open() => _gate.Set();

    /// <summary>
    /// A subscriber blocked in <c>OnNext</c> while the bus ends it: runs <paramref name="publish"/> on another
    /// thread until it is blocked here, then <paramref name="end"/> on another thread, which must return while
    /// the subscriber is still blocked and must not have sent it anything yet; hands the result to
    /// <paramref name="whileBlocked"/>; then opens the gate and waits for the publisher to return. Every wait
    /// is bounded by <paramref name="guard"/>, so a bus that stalls fails the test with a TimeoutException.
    /// </summary>
    public async Task EndWhileBlockedAsync<TResult>(
        Action publish, Func<TResult> end, Action<TResult> whileBlocked, TimeSpan guard)
    {
        var publisher = Task.Run(publish);
        await Entered.WaitAsync(guard);
        try
        {
            var result = await Task.Run(end).WaitAsync(guard);

            Log.Should().Equal(["OnNext start"], "because the ending must wait until the OnNext it would overlap has returned");
            whileBlocked(result);
        }
        finally
        {
            Open();
        }

        await publisher.WaitAsync(guard);
    }

    /// <inheritdoc cref="EndWhileBlockedAsync{TResult}"/>
    public Task EndWhileBlockedAsync(Action publish, Action end, Action whileBlocked, TimeSpan guard) =>
        EndWhileBlockedAsync(
            publish,
            () =>
            {
                end();
                return true;
            },
            _ => whileBlocked(),
            guard);

    /// <summary>What the Rx contract asks after <see cref="EndWhileBlockedAsync"/>: the OnNext ended, then one OnCompleted.</summary>
    public void ShouldHaveCompletedOnceAfterItsOnNext(string because)
    {
        Log.Should().Equal(["OnNext start", "OnNext end", "OnCompleted"], because);
        Overlaps.Should().Be(0, "because a completion never runs while an OnNext still does");
    }

    public void OnNext(T value)
    {
        Enter("OnNext start");
        _entered.TrySetResult();
        _gate.Wait(SafetyNet);
        Exit("OnNext end");
    }

    public void OnError(Exception error)
    {
        Enter("OnError");
        Exit(null);
    }

    public void OnCompleted()
    {
        Enter("OnCompleted");
        Exit(null);
    }

    // Opens the gate rather than disposing it: a thread may still be inside Wait.
    public void Dispose() => Open();

    private void Enter(string entry)
    {
        if (Interlocked.Increment(ref _inside) != 1)
        {
            Interlocked.Increment(ref _overlaps);
        }

        Append(entry);
    }

    private void Exit(string? entry)
    {
        if (entry is not null)
        {
            Append(entry);
        }

        Interlocked.Decrement(ref _inside);
    }

    private void Append(string entry)
    {
        using (_logGate.EnterScope())
        {
            _log.Add(entry);
        }
    }
}
