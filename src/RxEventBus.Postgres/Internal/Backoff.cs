using System.Reactive.Concurrency;

namespace RxEventBus.Postgres.Internal;

// Exponential backoff on the bus's scheduler: the first wait is `initial`, each next one doubles, up to `max`.
internal sealed class Backoff(IScheduler scheduler, TimeSpan initial, TimeSpan max)
{
    internal int Attempts { get; private set; }

    internal TimeSpan NextDelay { get; private set; } = initial;

    internal async Task WaitAsync(CancellationToken cancellationToken)
    {
        Attempts++;
        var delay = NextDelay;
        NextDelay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, max.Ticks));
        await SchedulerTime.Delay(scheduler, delay, cancellationToken).ConfigureAwait(false);
    }
}
