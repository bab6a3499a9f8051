using System.Runtime.CompilerServices;

namespace RxEventBus.Postgres.Subscriptions;

// Events a subscription brought onto a bus from a table (EventSubscription.AttachTo) carry that table with them,
// by reference, so that a persistence consumer on the same bus writing to that same table does not store them
// a second time: they are rows already. A consumer writing to another table stores them as any event. The mark
// lives beside the event (a weak table), not in it: the core's Event knows nothing of tables.
internal static class LogOrigin
{
    private static readonly ConditionalWeakTable<Event, string> Tables = [];

    // Until a subscription is first attached to a bus in this process, no event can be marked: the consumer's
    // per-event path then skips the lookup entirely.
    private static volatile bool _anyMarked;

    internal static Event Mark(Event @event, string qualifiedTable)
    {
        Tables.AddOrUpdate(@event, qualifiedTable);
        _anyMarked = true;
        return @event;
    }

    internal static bool IsRowOf(Event @event, EventTable table) =>
        _anyMarked && Tables.TryGetValue(@event, out var origin) && string.Equals(origin, table.QualifiedName, StringComparison.Ordinal);

    // Between the bus and the consumer's queue: rows of `table` are marked skipped (the consumer has nothing to
    // do for them), everything else goes on to the queue, whose refusals still reach the publisher.
    internal static IObserver<TrackedEvent> SkipRowsOf(EventTable table, IObserver<TrackedEvent> queue) => new SkipRows(table, queue);

    private sealed class SkipRows(EventTable table, IObserver<TrackedEvent> queue) : IObserver<TrackedEvent>
    {
        public void OnNext(TrackedEvent value)
        {
            if (IsRowOf(value.Event, table))
            {
                value.TryMarkSkipped();
                return;
            }

            queue.OnNext(value);
        }

        public void OnError(Exception error) => queue.OnError(error);

        public void OnCompleted() => queue.OnCompleted();
    }
}
