using System.Reactive.Concurrency;
using System.Reactive.Disposables;

namespace RxEventBus.Postgres.Internal;

// Waiting, the only way library code may: on the bus's IScheduler, so a TestScheduler drives it.
internal static class SchedulerTime
{
    internal static Task Delay(IScheduler scheduler, TimeSpan dueTime, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var timer = scheduler.Schedule(done, dueTime, static (_, state) =>
        {
            state.TrySetResult();
            return Disposable.Empty;
        });
        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(() =>
            {
                timer.Dispose();
                done.TrySetCanceled(cancellationToken);
            });
            _ = done.Task.ContinueWith(static (_, r) => ((CancellationTokenRegistration)r!).Dispose(), registration,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return done.Task;
    }
}
