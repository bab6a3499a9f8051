using System.Reactive.Concurrency;
using System.Reactive.Disposables;

namespace RxEventBus.Hosting.Tests.Support;

/// <summary>
/// A clock that never moves: nothing scheduled on it ever runs. A consumer on it never retries and never
/// reaches its own shutdown timeout, so only the host's shutdown token can end its drain.
/// </summary>
internal sealed class FrozenScheduler : IScheduler
{
    public DateTimeOffset Now { get; } = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    public IDisposable Schedule<TState>(TState state, Func<IScheduler, TState, IDisposable> action) => Disposable.Empty;

    public IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action) => Disposable.Empty;

    public IDisposable Schedule<TState>(TState state, DateTimeOffset dueTime, Func<IScheduler, TState, IDisposable> action) => Disposable.Empty;
}
