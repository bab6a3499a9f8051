namespace RxEventBus.Internal;

// Tracked(name, patterns): a pattern subscription whose events the bus keeps until it answers them. Each
// event it receives is in the bus's pending table first; when it goes away (disposed, unsubscribed by name,
// ended by the bus) it skips every event it still owes, so a departed subscriber never pins memory.
internal sealed class TrackedSubscription(
    EventBus bus, long id, string name, TopicPatterns patterns, IObserver<TrackedEvent> observer)
    : Subscription(bus, id)
{
    private readonly Lock _gate = new();

    internal TopicPatterns Matcher { get; } = patterns;

    internal override SubscriptionKind Kind => SubscriptionKind.Tracked;

    internal override string Name { get; } = name;

    internal override IReadOnlyList<string> Patterns => Matcher.Patterns;

    internal override void Deliver(Event @event) =>
        throw new InvalidOperationException("A tracked subscription is delivered with its pending entry.");

    internal void Deliver(PendingEntry entry, int slot)
    {
        try
        {
            using (_gate.EnterScope())
            {
                // Checked after the entry was stored: either this sees the subscription stopped, or the sweep
                // that follows its stopping (SkipOwedEvents) sees the entry. Both may skip it; the second is a no-op.
                if (IsStopped)
                {
                    entry.TryMark(slot, PendingEntry.Skipped);
                    return;
                }

                observer.OnNext(new TrackedEvent(entry, slot));
            }
        }
        finally
        {
            // An ending recorded while this delivery held the lock was left for it to send (see Terminate).
            if (HasUnsentEnding)
            {
                SendEndingUnder(_gate);
            }
        }
    }

    // Run only once the subscription is stopped (see Deliver), over the whole table: a subscriber may owe
    // events of topics it no longer receives, or that are no longer registered.
    internal void SkipOwedEvents(PendingTable pending)
    {
        foreach (var entry in pending.Entries)
        {
            var slot = Array.IndexOf(entry.Subscribers, this);
            if (slot >= 0)
            {
                entry.TryMark(slot, PendingEntry.Skipped);
            }
        }
    }

    protected override void SendEndingWhenFree() => SendEndingUnder(_gate);

    protected override void SendCompleted() => observer.OnCompleted();

    protected override void SendError(Exception error) => observer.OnError(error);
}
