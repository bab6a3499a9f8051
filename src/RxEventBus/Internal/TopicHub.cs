using System.Runtime.ExceptionServices;

namespace RxEventBus.Internal;

// One registered topic: its subscribers and its fan-out. Publish is the hot path: one lock, one read of
// the subscriber arrays, one call per subscriber; it allocates nothing unless tracked subscribers need
// a pending entry. The arrays are replaced whole (copy-on-write) under the bus's structure lock, so
// subscribing never blocks a publisher for longer than one reference swap.
internal sealed class TopicHub(EventBus bus, string name, PendingTable pending)
{
    private PlainSinks _plain = PlainSinks.Empty;
    private TrackedSubscription[] _tracked = [];
    private bool _isRegistered = true;
    private readonly KeyValuePair<string, object?> _metricTag = BusMetrics.TopicTag(name);

    // Topic subscriptions the bus ended while a publish held the delivery lock: that publish sends their
    // endings as it lets go (see End). _endingsWaiting is their count, readable without _endingsGate: the
    // one read a publish spends on this.
    private readonly Lock _endingsGate = new();
    private List<Subscription>? _endings;
    private int _endingsWaiting;

    internal string Name { get; } = name;

    // False once the topic is unregistered (or the bus disposed): Publish's hub cache must not use it then.
    internal bool IsRegistered
    {
        get => Volatile.Read(ref _isRegistered);
        set => Volatile.Write(ref _isRegistered, value);
    }

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
        try
        {
            using (Delivery.EnterScope())
            {
                var tracked = _tracked;
                var plain = _plain;
                Exception? rejection = null;

                if (tracked.Length != 0)
                {
                    // Stored before any delivery: a subscriber may answer from inside OnNext.
                    var entry = new PendingEntry(@event, tracked, pending);
                    pending.Add(entry);
                    for (var i = 0; i < tracked.Length; i++)
                    {
                        try
                        {
                            tracked[i].Deliver(entry, i);
                        }
                        catch (Exception e)
                        {
                            // A subscriber that failed on an event has not handled it: it counts as skipped, so the event is not held forever.
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
        finally
        {
            // Endings of topic subscriptions that waited for this publish to let go of the lock (see End).
            if (Volatile.Read(ref _endingsWaiting) != 0)
            {
                SendEndings();
            }
        }
    }

    // Ends a topic subscription of this hub, already detached (its OnNext calls stop with the publishes that
    // read the old array). Its ending is sent under the delivery lock, after those publishes: at once if no
    // publish holds the lock, else by the publish that does, as it lets go — never waiting for it, since a
    // subscriber may be blocked in OnNext for as long as its buffer stays full.
    internal void End(Subscription subscription)
    {
        using (_endingsGate.EnterScope())
        {
            (_endings ??= []).Add(subscription);
            Volatile.Write(ref _endingsWaiting, _endings.Count);
        }

        SendEndings();
    }

    // Sends the waiting endings unless the delivery lock is held: by a publish on another thread, which calls
    // this as it lets go, or further up this thread's stack (a nested publish, or an ending requested from
    // inside an OnNext), where the outermost publish will. Loops because an End that found the lock taken by
    // this very call counts on it to look again after letting go. Lock's release is an interlocked decrement
    // (a full fence) and End's count is written before its TryEnter, so that second look cannot miss it.
    private void SendEndings()
    {
        while (Volatile.Read(ref _endingsWaiting) != 0 && !Delivery.IsHeldByCurrentThread && Delivery.TryEnter())
        {
            try
            {
                List<Subscription>? endings;
                using (_endingsGate.EnterScope())
                {
                    endings = _endings;
                    _endings = null;
                    Volatile.Write(ref _endingsWaiting, 0);
                }

                foreach (var subscription in endings ?? [])
                {
                    subscription.SendEndingLocked();
                }
            }
            finally
            {
                Delivery.Exit();
            }
        }
    }

    // A subscriber's fault goes to the error stream, never to the publisher, unless it is a deliberate
    // refusal (EventRejectedException), which the publisher must hear of once everyone was served, and which
    // Rejections reports as it happens.
    private Exception? Fault(Subscription subscription, Event @event, Exception e, Exception? rejection)
    {
        if (e is EventRejectedException refusal)
        {
            bus.ReportRefusal(subscription, @event, refusal);
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
