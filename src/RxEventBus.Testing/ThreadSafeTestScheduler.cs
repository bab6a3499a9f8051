using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using Microsoft.Reactive.Testing;

namespace RxEventBus.Testing;

/// <summary>
/// A virtual clock that code running on other threads may schedule on while the test moves it: a
/// <see cref="TestScheduler"/> behind a lock. Give it to code that does its work on the thread pool — the
/// Postgres consumer's batching deadline, retry backoff and TTL cleaner — and drive time from the test with
/// <see cref="AdvanceBy(TimeSpan)"/> and <see cref="AdvanceTo(TimeSpan)"/>.
/// </summary>
/// <remarks>
/// <para><see cref="TestScheduler"/> itself is not thread-safe: a timer armed from a pool thread while the test
/// advances the clock can corrupt its queue. Here every schedule, clock read and advance holds one lock.
/// Scheduled actions run on the thread that advances the clock, while that lock is held; an action may schedule
/// more work (it is queued), but must not wait for another thread that is itself trying to schedule. Cancelling
/// (disposing what <c>Schedule</c> returned) never waits for the lock: the action is marked not to run, and is
/// taken out of the queue at once if the lock is free (otherwise it stays queued, doing nothing when due). So a
/// cancellation from another thread cannot deadlock with an action that waits for it — as a timer's completion
/// does when it unregisters from a token whose cancellation is disposing that very timer.</para>
/// <para>Code on another thread arms its timers at moments the test does not control. Before moving time past
/// a timer, wait until it is armed with <see cref="WhenScheduledAsync(TimeSpan, TimeSpan?)"/>:
/// <c>var armed = scheduler.WhenScheduledAsync(batchDelay); publish(); await armed; scheduler.AdvanceBy(batchDelay);</c>.</para>
/// <para>There is no <c>Start()</c>: with other threads scheduling, "until nothing is left to do" has no
/// well-defined moment, and a periodic timer (a TTL cleaner, an <c>Interval</c>) would make it run forever.</para>
/// </remarks>
public sealed class ThreadSafeTestScheduler : IScheduler
{
    /// <summary>How long <see cref="WhenScheduledAsync(TimeSpan, TimeSpan?)"/> waits by default: a safety net against a hung test.</summary>
    public static readonly TimeSpan DefaultWaitTimeout = TimeSpan.FromSeconds(30);

    private readonly TestScheduler _inner;
    private readonly Lock _gate = new();
    private readonly List<(TimeSpan Due, TaskCompletionSource Signal)> _waiters = [];

    /// <summary>A clock on a new <see cref="TestScheduler"/>, reading 0001-01-01 at tick 0.</summary>
    public ThreadSafeTestScheduler()
        : this(new TestScheduler())
    {
    }

    /// <summary>
    /// A clock on <paramref name="inner"/>, which only this object may use from now on — pass a
    /// <see cref="UnixEpochTestScheduler"/> for a clock that reads 1970-01-01 at tick 0, so event ids carry the time.
    /// </summary>
    /// <param name="inner">The scheduler to guard.</param>
    /// <exception cref="ArgumentNullException"><paramref name="inner"/> is null.</exception>
    public ThreadSafeTestScheduler(TestScheduler inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
    }

    /// <summary>The clock's current reading.</summary>
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

    /// <summary>The virtual time since the clock's start, in ticks (as a <see cref="TestScheduler"/>'s <c>Clock</c>).</summary>
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

    /// <summary>The virtual time since the clock's start.</summary>
    public TimeSpan Elapsed => TimeSpan.FromTicks(Clock);

    /// <inheritdoc />
    public IDisposable Schedule<TState>(TState state, Func<IScheduler, TState, IDisposable> action) =>
        Schedule(state, TimeSpan.Zero, action);

    /// <inheritdoc />
    public IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var cancellation = new Cancellation(_gate);
        using (_gate.EnterScope())
        {
            // The action sees this scheduler, not the inner one, so what it schedules in turn is guarded too.
            cancellation.Scheduled = _inner.Schedule(
                (Owner: this, Action: action, State: state, Cancellation: cancellation),
                dueTime,
                static (_, s) => s.Cancellation.IsCancelled ? Disposable.Empty : s.Action(s.Owner, s.State));
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Due == dueTime)
                {
                    _waiters[i].Signal.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }

        return cancellation;
    }

    /// <inheritdoc />
    public IDisposable Schedule<TState>(TState state, DateTimeOffset dueTime, Func<IScheduler, TState, IDisposable> action) =>
        Schedule(state, dueTime - Now, action);

    /// <summary>
    /// Completes when something is next scheduled with exactly <paramref name="dueTime"/> (relative to the time
    /// it is scheduled at): a way to know another thread has armed its timer before the test moves time past it.
    /// Call it before the action that makes the other thread schedule, so the moment cannot be missed.
    /// </summary>
    /// <param name="dueTime">The relative due time to wait for.</param>
    /// <param name="timeout">How long to wait in real time before failing; null for <see cref="DefaultWaitTimeout"/>.</param>
    /// <returns>A task that completes when it is scheduled.</returns>
    /// <exception cref="TimeoutException">Nothing was scheduled with that due time within <paramref name="timeout"/> (thrown by the task).</exception>
    public Task WhenScheduledAsync(TimeSpan dueTime, TimeSpan? timeout = null)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (_gate.EnterScope())
        {
            _waiters.Add((dueTime, signal));
        }

        return signal.Task.WaitAsync(timeout ?? DefaultWaitTimeout);
    }

    /// <summary>Moves the clock forward by <paramref name="time"/>, running on this thread everything due on the way.</summary>
    /// <param name="time">How far to move; not negative.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="time"/> is negative.</exception>
    public void AdvanceBy(TimeSpan time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(time, TimeSpan.Zero);
        using (_gate.EnterScope())
        {
            _inner.AdvanceBy(time.Ticks);
        }
    }

    /// <summary>
    /// Moves the clock to <paramref name="time"/> since its start, running on this thread everything due on the
    /// way; does nothing if the clock is already there.
    /// </summary>
    /// <param name="time">The virtual time to reach, counted from the clock's start.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="time"/> is before the clock's current time.</exception>
    public void AdvanceTo(TimeSpan time)
    {
        using (_gate.EnterScope())
        {
            _inner.AdvanceTo(time.Ticks);
        }
    }

    // Disposal (a cancelled timer) may come from another thread while the test advances the clock, whose thread holds
    // the lock while it runs an action — one that may be waiting for this very disposal to return.
    private sealed class Cancellation(Lock gate) : IDisposable
    {
        private volatile bool _cancelled;

        internal IDisposable? Scheduled { get; set; }

        internal bool IsCancelled => _cancelled;

        public void Dispose()
        {
            _cancelled = true;
            if (gate.TryEnter())
            {
                try
                {
                    Scheduled?.Dispose();
                }
                finally
                {
                    gate.Exit();
                }
            }
        }
    }
}
