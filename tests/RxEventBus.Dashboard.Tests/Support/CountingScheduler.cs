using System.Reactive.Concurrency;
using System.Reactive.Disposables;

namespace RxEventBus.Dashboard.Tests.Support;

/// <summary>
/// The default scheduler, counting the periodic timers scheduled on it that are still running: a stream that ends
/// disposes its timer, so the count shows whether the server side of a stream has stopped.
/// </summary>
internal sealed class CountingScheduler : IScheduler, ISchedulerPeriodic, IServiceProvider
{
    private readonly DefaultScheduler _inner = DefaultScheduler.Instance;
    private int _periodic;

    public int ActiveTimers => Volatile.Read(ref _periodic);

    public DateTimeOffset Now => _inner.Now;

    public IDisposable Schedule<TState>(TState state, Func<IScheduler, TState, IDisposable> action) => _inner.Schedule(state, action);

    public IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action) => _inner.Schedule(state, dueTime, action);

    public IDisposable Schedule<TState>(TState state, DateTimeOffset dueTime, Func<IScheduler, TState, IDisposable> action) => _inner.Schedule(state, dueTime, action);

    public IDisposable SchedulePeriodic<TState>(TState state, TimeSpan period, Func<TState, TState> action)
    {
        Interlocked.Increment(ref _periodic);
        var timer = _inner.SchedulePeriodic(state, period, action);
        return Disposable.Create(() =>
        {
            timer.Dispose();
            Interlocked.Decrement(ref _periodic);
        });
    }

    public object? GetService(Type serviceType) => serviceType == typeof(ISchedulerPeriodic) ? this : null;
}
