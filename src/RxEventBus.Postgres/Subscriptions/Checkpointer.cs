using System.Reactive.Concurrency;

namespace RxEventBus.Postgres.Subscriptions;

// When a named subscription stores its checkpoint: after `every` handled events, or once `interval` has passed
// since the last store with something handled since (an idle reader wakes for it), and when the reader stops. So a crash
// re-delivers at most `every` events, and storing costs one small UPDATE per `every` events instead of one per
// event. Time is the scheduler's. An anonymous subscription stores nothing: `enabled` is false, and nothing is
// ever dirty or due.
internal sealed class Checkpointer(bool enabled, int every, TimeSpan interval, IScheduler scheduler)
{
    private int _handledSinceStore;
    private DateTimeOffset _storedAt = scheduler.Now;

    internal LogPosition? Stored { get; private set; }

    // Every row at or before it is handled.
    internal LogPosition Handled { get; private set; }

    internal bool Dirty => enabled && (Stored is not { } stored || Handled > stored);

    internal bool Due => Dirty && (_handledSinceStore >= every || scheduler.Now - _storedAt >= interval);

    // How long until the interval makes a store due; zero when it already has.
    internal TimeSpan UntilDue
    {
        get
        {
            var left = interval - (scheduler.Now - _storedAt);
            return left > TimeSpan.Zero ? left : TimeSpan.Zero;
        }
    }

    internal void Start(LogPosition handled, LogPosition? stored)
    {
        Handled = handled;
        Stored = stored;
        _handledSinceStore = 0;
        _storedAt = scheduler.Now;
    }

    internal void EventHandled(LogPosition position)
    {
        Handled = LogPosition.Max(Handled, position);
        _handledSinceStore++;
    }

    // Rows passed over (other topics) or the fence reached: nothing to re-deliver, but the checkpoint may move.
    internal void PassedTo(LogPosition position) => Handled = LogPosition.Max(Handled, position);

    internal void WasStored(LogPosition position)
    {
        Stored = position;
        _handledSinceStore = 0;
        _storedAt = scheduler.Now;
    }
}
