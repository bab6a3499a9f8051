using System.Runtime.ExceptionServices;

namespace RxEventBus.Internal;

// One registered topic: its subscribers and its fan-out. Publish is the hot path: one lock, one read of
// the subscriber arrays, one call per subscriber; it allocates nothing unless tracked subscribers need
// a pending entry. The arrays are replaced whole (copy-on-write) under the bus's structure lock, so
// subscribing never blocks a publisher for longer than one reference swap.
internal sealed class TopicHub(EventBus bus, string name, PendingStore pending)
{
    private Subscription[] _plain = [];
    private TrackedSubscription[] _tracked = [];
    private readonly KeyValuePair<string, object?> _metricTag = BusMetrics.TopicTag(name);

    internal string Name { get; } = name;

    internal PendingStore Pending { get; } = pending;

    // Serializes the topic's deliveries: publishes from many threads never overlap at an observer, and
    // each observer sees the topic's events in the order their publishers took this lock.
    internal Lock Delivery { get; } = new();

    internal int Count => Volatile.Read(ref _plain).Length + Volatile.Read(ref _tracked).Length;

    internal IEnumerable<Subscription> Subscriptions => [.. Volatile.Read(ref _tracked), .. Volatile.Read(ref _plain)];

    // Called under the bus's structure lock.
    internal void Attach(Subscription subscription)
    {
        if (subscription is TrackedSubscription tracked)
        {
            Volatile.Write(ref _tracked, [.. _tracked, tracked]);
        }
        else
        {
            Volatile.Write(ref _plain, [.. _plain, subscription]);
        }
    }

    // Called under the bus's structure lock.
    internal void Detach(Subscription subscription)
    {
        if (subscription is TrackedSubscription tracked)
        {
            Volatile.Write(ref _tracked, Array.FindAll(_tracked, s => s != tracked));
        }
        else
        {
            Volatile.Write(ref _plain, Array.FindAll(_plain, s => s != subscription));
        }
    }

    // Called under the bus's structure lock, when the topic is unregistered or the bus disposed.
    internal void DetachAll()
    {
        Volatile.Write(ref _plain, []);
        Volatile.Write(ref _tracked, []);
    }

    internal void Publish(Event @event)
    {
        BusMetrics.Published(_metricTag);
        using (Delivery.EnterScope())
        {
            var tracked = _tracked;
            var plain = _plain;
            Exception? rejection = null;

            if (tracked.Length != 0)
            {
                // Stored before any delivery: a subscriber may answer from inside OnNext.
                var entry = new PendingEntry(@event, tracked, Pending);
                Pending.Add(entry);
                for (var i = 0; i < tracked.Length; i++)
                {
                    try
                    {
                        tracked[i].Deliver(entry, i);
                    }
                    catch (Exception e)
                    {
                        // The seed's rule: an event whose tracked subscriber failed counts as skipped by it.
                        entry.TryMark(i, PendingEntry.Skipped);
                        rejection = Fault(tracked[i], @event, e, rejection);
                    }
                }
            }

            for (var i = 0; i < plain.Length; i++)
            {
                try
                {
                    plain[i].Deliver(@event);
                }
                catch (Exception e)
                {
                    rejection = Fault(plain[i], @event, e, rejection);
                }
            }

            if (rejection is not null)
            {
                ExceptionDispatchInfo.Throw(rejection);
            }
        }
    }

    // A subscriber's fault goes to the error stream, never to the publisher, unless it is a deliberate
    // refusal (EventRejectedException), which the publisher must hear of once everyone was served.
    private Exception? Fault(Subscription subscription, Event @event, Exception e, Exception? rejection)
    {
        if (e is EventRejectedException)
        {
            return rejection ?? e;
        }

        bus.ReportSubscriberFault(subscription, @event, e);
        return rejection;
    }
}
