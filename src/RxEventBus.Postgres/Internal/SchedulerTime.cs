using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;

namespace RxEventBus.Postgres.Internal;

// Waiting, the only way library code may: on the bus's IScheduler, so a TestScheduler drives it.
internal static class SchedulerTime
{
    // The timer fires on the scheduler's thread (a TestScheduler's: the test's, inside AdvanceBy); the task is
    // completed from the task pool instead, so no pipeline code runs inside that callback.
    internal static Task Delay(IScheduler scheduler, TimeSpan dueTime, CancellationToken cancellationToken) =>
        Observable.Timer(dueTime, scheduler).ToTask(cancellationToken, TaskPoolScheduler.Default);
}
