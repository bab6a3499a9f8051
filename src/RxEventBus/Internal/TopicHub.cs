using System.Runtime.ExceptionServices;

namespace RxEventBus.Internal;

// One registered topic: its subscribers and its fan-out. Publish is the hot path: one lock, one read of
// the subscriber arrays, one call per subscriber; it allocates nothing unless tracked subscribers need
// a pending entry. The arrays are replaced whole (copy-on-write) under the bus's structure lock, so
// subscribing never blocks a publisher for longer than one reference swap.
internal sealed class TopicHub(EventBus bus, string name, PendingStore pending)
{
    private PlainSinks _plain = PlainSinks.Empty;
    private TrackedSubscription[] _tracked = [];
    private bool _isRegistered = true;
    private readonly KeyValuePair<string, object?> _metricTag = BusMetrics.TopicTag(name);

    internal string Name { get; } = name;

    // False once the topic is unregistered (or the bus disposed): Publish's hub cache must not use it then.
    internal bool IsRegistered
    {
        get => Volatile.Read(ref _isRegistered);
        set => Volatile.Write(ref _isRegistered, value);
    }

    internal PendingStore Pending { get; } = pending;

    // Serializes the topic's deliveries: publishes from many threads never overlap at an observer, and
    // each observer sees the topic's events in the order their publishers took this lock.
    internal Lock Delivery { get; } = new();

    internal int Count => Volatile.Read(ref _plain).Owners.Length + Volatile.Read(ref _tracked).Length;

    internal IEnumerable<Subscription> Subscriptions => [.. Volatile.Read(ref _tracked), .. Volatile.Read(ref _plain).Owners];

    // Called under the bus's structure lock.
    internal void Attach(Subscription subscription)
    {
        if (subscription is TrackedSubscription tracked)
        {
            Volatile.Write(ref _tracked, [.. _tracked, tracked]);
        }
        else
        {
            Volatile.Write(ref _plain, _plain.With(subscription));
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
            Volatile.Write(ref _plain, _plain.Without(subscription));
        }
    }

    // Called under the bus's structure lock, when the topic is unregistered or the bus disposed.
    internal void DetachAll()
    {
        Volatile.Write(ref _plain, PlainSinks.Empty);
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

            var observers = plain.Observers;
            for (var i = 0; i < observers.Length; i++)
            {
                try
                {
                    observers[i].OnNext(@event);
                }
                catch (Exception e)
                {
                    rejection = Fault(plain.Owners[i], @event, e, rejection);
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

// The plain subscribers of a topic, swapped whole. Observers[i] is what Publish calls for Owners[i]: for a
// Topic(name) subscription the user's own observer, so the hot path makes exactly the calls a Subject
// would; for the others, the subscription, which adapts or serializes before calling its observer.
internal sealed class PlainSinks(IObserver<Event>[] observers, Subscription[] owners)
{
    internal static readonly PlainSinks Empty = new([], []);

    internal IObserver<Event>[] Observers { get; } = observers;

    internal Subscription[] Owners { get; } = owners;

    internal PlainSinks With(Subscription subscription) => new([.. Observers, subscription.Target], [.. Owners, subscription]);

    internal PlainSinks Without(Subscription subscription)
    {
        var index = Array.IndexOf(Owners, subscription);
        return index < 0 ? this : new([.. Observers[..index], .. Observers[(index + 1)..]], [.. Owners[..index], .. Owners[(index + 1)..]]);
    }
}
