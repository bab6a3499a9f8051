using System.Reactive.Concurrency;
using Microsoft.Reactive.Testing;

namespace RxEventBus.Postgres.Tests.Support;

// A TestScheduler that the pipeline's threads may schedule on while the test advances it: TestScheduler
// itself is not thread-safe. WhenScheduledAsync lets a test wait until the pipeline has armed a timer (a
// batch deadline, a retry backoff) before it moves virtual time past it.
internal sealed class ThreadSafeTestScheduler : IScheduler
{
    private readonly TestScheduler _inner = new();
    private readonly Lock _gate = new();
    private readonly List<(TimeSpan Due, TaskCompletionSource Signal)> _waiters = [];

    public DateTimeOffset Now
    {
        get
        {
            using (_gate.EnterScope())
            {
                return _inner.Now;
            }
        }
    }

    public long Clock
    {
        get
        {
            using (_gate.EnterScope())
            {
                return _inner.Clock;
            }
        }
    }

    public IDisposable Schedule<TState>(TState state, Func<IScheduler, TState, IDisposable> action) =>
        Schedule(state, TimeSpan.Zero, action);

    public IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action)
    {
        IDisposable scheduled;
        using (_gate.EnterScope())
        {
            scheduled = _inner.Schedule(state, dueTime, (_, s) => action(this, s));
            foreach (var waiter in _waiters.Where(w => w.Due == dueTime).ToList())
            {
                waiter.Signal.TrySetResult();
                _waiters.Remove(waiter);
            }
        }

        // Disposal (a cancelled timer) may come from a pipeline thread while the test advances the clock.
        return new Cancel(this, scheduled);
    }

    private sealed class Cancel(ThreadSafeTestScheduler owner, IDisposable scheduled) : IDisposable
    {
        public void Dispose()
        {
            using (owner._gate.EnterScope())
            {
                scheduled.Dispose();
            }
        }
    }

    public IDisposable Schedule<TState>(TState state, DateTimeOffset dueTime, Func<IScheduler, TState, IDisposable> action) =>
        Schedule(state, dueTime - Now, action);

    // Completes when something is (next) scheduled with exactly this due time.
    public Task WhenScheduledAsync(TimeSpan dueTime)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (_gate.EnterScope())
        {
            _waiters.Add((dueTime, signal));
        }

        return signal.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public void AdvanceBy(TimeSpan time)
    {
        using (_gate.EnterScope())
        {
            _inner.AdvanceBy(time.Ticks);
        }
    }
}
