using System.Reactive.Concurrency;

namespace RxEventBus.Postgres.Internal;

// How a failed write is retried: exponential backoff on the bus's scheduler, from `Initial` doubling up to
// `Max`. Each batch (and each schema or dead-letter attempt) starts its own Backoff, so one batch's long
// outage does not make the next batch wait longer.
internal sealed record RetryPolicy(IScheduler Scheduler, TimeSpan Initial, TimeSpan Max)
{
    internal Backoff Start() => new(Scheduler, Initial, Max);
}
