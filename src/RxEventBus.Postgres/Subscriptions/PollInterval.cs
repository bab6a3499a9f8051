namespace RxEventBus.Postgres.Subscriptions;

// How long a caught-up subscription waits before it reads again without being woken: from Min, doubling while
// reads find nothing, up to Max; back to Min as soon as a read finds rows. A notification ends any wait early,
// so this only bounds how late a row written without one (another program's INSERT, a lost notification, a
// fence held by a long transaction) is seen, without a busy loop.
internal sealed class PollInterval(TimeSpan min, TimeSpan max)
{
    private readonly TimeSpan _min = min;
    private TimeSpan _next = min;

    internal TimeSpan Next()
    {
        var wait = _next;
        _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, max.Ticks));
        return wait;
    }

    internal void Reset() => _next = _min;
}
