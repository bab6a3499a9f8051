namespace RxEventBus.Internal;

// Tracked(name, patterns): a pattern subscription whose events the bus keeps until it answers them. Each
// hub it is attached to records its pending events in the topic's store; on disposal it skips every
// event it still owes, so a departed subscriber never pins memory.
internal sealed class TrackedSubscription(
    EventBus bus, long id, string name, TopicPatterns patterns, IObserver<TrackedEvent> observer)
    : Subscription(bus, id)
{
    private readonly Lock _gate = new();

    internal TopicPatterns Matcher { get; } = patterns;

    internal override SubscriptionKind Kind => SubscriptionKind.Tracked;

    internal override string Name { get; } = name;

    internal override IReadOnlyList<string> Patterns => Matcher.Patterns;

    // Every topic store it was ever attached to, to skip what it still owes when it goes away. Changed
    // only under the bus's structure lock.
    internal HashSet<PendingStore> Stores { get; } = [];

    internal override void Deliver(Event @event) =>
        throw new InvalidOperationException("A tracked subscription is delivered with its pending entry.");

    internal void Deliver(PendingEntry entry, int slot)
    {
        using (_gate.EnterScope())
        {
            // Checked after the entry was stored: either this sees the disposal, or the disposal's sweep
            // of the stores sees the entry. Both may skip it; the second is a no-op.
            if (IsStopped)
            {
                entry.TryMark(slot, PendingEntry.Skipped);
                return;
            }

            observer.OnNext(new TrackedEvent(entry, slot));
        }
    }

    internal void SkipOwedEvents(IEnumerable<PendingStore> stores)
    {
        foreach (var store in stores)
        {
            foreach (var entry in store.Entries)
            {
                var slot = Array.IndexOf(entry.Subscribers, this);
                if (slot >= 0)
                {
                    entry.TryMark(slot, PendingEntry.Skipped);
                }
            }
        }
    }

    protected override Lock TerminalLock() => _gate;

    protected override void SendCompleted() => observer.OnCompleted();

    protected override void SendError(Exception error) => observer.OnError(error);
}
