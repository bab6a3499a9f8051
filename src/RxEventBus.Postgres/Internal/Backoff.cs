namespace RxEventBus.Postgres.Internal;

// Exponential backoff on the bus's scheduler: the first ceiling is the policy's Initial, each next one doubles,
// up to its Max; each wait is the ceiling less the policy's jitter. NextDelay is drawn before it is waited, so
// what is logged as the next delay is the wait itself.
internal sealed class Backoff
{
    private readonly RetryPolicy _policy;
    private TimeSpan _ceiling;

    internal Backoff(RetryPolicy policy)
    {
        _policy = policy;
        _ceiling = policy.Initial;
        NextDelay = policy.Jittered(_ceiling);
    }

    internal int Attempts { get; private set; }

    internal TimeSpan NextDelay { get; private set; }

    internal async Task WaitAsync(CancellationToken cancellationToken)
    {
        Attempts++;
        var delay = NextDelay;
        _ceiling = TimeSpan.FromTicks(Math.Min(_ceiling.Ticks * 2, _policy.Max.Ticks));
        NextDelay = _policy.Jittered(_ceiling);
        await SchedulerTime.Delay(_policy.Scheduler, delay, cancellationToken).ConfigureAwait(false);
    }
}
