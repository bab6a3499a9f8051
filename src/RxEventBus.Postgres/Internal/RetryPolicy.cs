using System.Reactive.Concurrency;

namespace RxEventBus.Postgres.Internal;

// How a failed write is retried: exponential backoff on the bus's scheduler, from `Initial` doubling up to
// `Max`, each wait shortened by a random share of up to `Jitter` of it. Each batch (and each schema or
// dead-letter attempt) starts its own Backoff, so one batch's long outage does not make the next batch wait
// longer.
internal sealed class RetryPolicy(IScheduler scheduler, TimeSpan initial, TimeSpan max, double jitter, Random random)
{
    // Shared by the writers of one consumer, which retry concurrently; Random is not thread-safe.
    private readonly Lock _gate = new();

    internal IScheduler Scheduler { get; } = scheduler;

    internal TimeSpan Initial { get; } = initial;

    internal TimeSpan Max { get; } = max;

    internal Backoff Start() => new(this);

    // Without jitter, every instance that lost the same server at the same moment would retry at the same
    // moments, a thundering herd at each retry; a wait in [ceiling × (1 − jitter), ceiling] spreads them.
    internal TimeSpan Jittered(TimeSpan ceiling)
    {
        if (jitter == 0)
        {
            return ceiling;
        }

        double share;
        using (_gate.EnterScope())
        {
            share = random.NextDouble();
        }

        return ceiling - TimeSpan.FromTicks((long)(ceiling.Ticks * jitter * share));
    }
}
