namespace RxEventBus.Internal;

// One live subscription of any kind. The bus attaches it to the hubs of the topics it receives; a hub
// calls Deliver under its delivery lock. Subclasses decide how an observer is called and which lock keeps
// its notifications from overlapping (the Rx contract): a one-topic subscription is serialized by its
// hub's lock, a pattern subscription spans hubs and so has a lock of its own.
internal abstract class Subscription : IDisposable, IObserver<Event>
{
    // What _ending holds for OnCompleted; an Exception stands for OnError.
    private static readonly object Completed = new();

    private int _disposed;

    // The terminal notification, once the bus has ended the subscription: null while it lives. Recorded at
    // once (it stops OnNext from then on), sent when nobody is delivering to the observer (_endingSent).
    private object? _ending;
    private int _endingSent;

    protected Subscription(EventBus bus, long id)
    {
        Bus = bus;
        Id = id;
    }

    internal EventBus Bus { get; }

    internal long Id { get; }

    internal abstract SubscriptionKind Kind { get; }

    internal virtual string? Name => null;

    internal abstract IReadOnlyList<string> Patterns { get; }

    // The hubs this subscription is attached to; changed only under the bus's structure lock.
    internal List<TopicHub> Hubs { get; } = [];

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    // Stopped means no more OnNext: disposed by the user, or ended by the bus (even if the ending is not sent yet).
    internal bool IsStopped => Volatile.Read(ref _disposed) != 0 || Volatile.Read(ref _ending) is not null;

    // Read by each delivery once it has let go of the serializing lock: the one volatile read it costs.
    internal bool HasUnsentEnding => Volatile.Read(ref _ending) is not null && Volatile.Read(ref _endingSent) == 0;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Bus.Remove(this);
        }
    }

    internal abstract void Deliver(Event @event);

    // What a hub calls for each event: by default the subscription itself (Deliver); a subscription that
    // needs neither adapting nor serializing of its own hands over its observer, saving a call per event.
    internal virtual IObserver<Event> Target => this;

    void IObserver<Event>.OnNext(Event value) => Deliver(value);

    void IObserver<Event>.OnError(Exception error) =>
        throw new NotSupportedException("A hub only delivers events; endings go through Terminate.");

    void IObserver<Event>.OnCompleted() =>
        throw new NotSupportedException("A hub only delivers events; endings go through Terminate.");

    // Ends the subscription with OnCompleted (error null) or OnError, once, never overlapping an OnNext and
    // never before one in progress has returned — and never waiting for it: a subscriber may be blocked in
    // OnNext (a bounded consumer holds its publisher there when its buffer is full, ADR 0001), and disposing
    // the bus or unregistering a topic must not stall behind it. The ending is recorded first, by a CAS (a
    // full fence), which makes the subscription stopped; then it is sent at once if the serializing lock is
    // free, or else by whoever holds the lock, as it lets go. Any OnNext still to come is made under that lock
    // by a delivery already holding it, so the ending always comes after the last one. Called outside the
    // bus's structure lock: it may run user code.
    internal void Terminate(Exception? error)
    {
        if (Interlocked.CompareExchange(ref _ending, error ?? Completed, null) is null)
        {
            SendEndingWhenFree();
        }
    }

    // Sends the recorded ending now if nobody is delivering to this observer, or leaves it to whoever is.
    protected abstract void SendEndingWhenFree();

    // For a subscription serialized by a lock of its own: sends the ending under it unless someone holds it —
    // a delivery on another thread, or one further up this thread's stack, since an ending is never sent from
    // inside an OnNext. The holder calls this again once it has let go. System.Threading.Lock lets go with an
    // interlocked decrement, a full fence, so its HasUnsentEnding read cannot miss an ending recorded (by a
    // CAS) before this TryEnter failed.
    protected void SendEndingUnder(Lock gate)
    {
        if (!HasUnsentEnding || gate.IsHeldByCurrentThread || !gate.TryEnter())
        {
            return;
        }

        try
        {
            SendEndingLocked();
        }
        finally
        {
            gate.Exit();
        }
    }

    // Called with the serializing lock held. Sends once, and not at all if the user disposed meanwhile. What
    // the observer throws is reported, not thrown: the sender may be a publisher (invariant 4), and the bus
    // ending a subscription must go on to the next one.
    internal void SendEndingLocked()
    {
        var ending = Volatile.Read(ref _ending);
        if (ending is null || IsDisposed || Interlocked.Exchange(ref _endingSent, 1) != 0)
        {
            return;
        }

        try
        {
            if (ending is Exception error)
            {
                SendError(error);
            }
            else
            {
                SendCompleted();
            }
        }
#pragma warning disable CA1031 // An observer's fault in OnCompleted/OnError goes to EventBus.Errors, like one in OnNext.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Bus.ReportSubscriberFault(this, null, e);
        }
    }

    protected abstract void SendCompleted();

    protected abstract void SendError(Exception error);

    internal SubscriberInfo Describe(IReadOnlyList<string> topics) => new(Id, Kind, Name, Patterns, topics);
}
