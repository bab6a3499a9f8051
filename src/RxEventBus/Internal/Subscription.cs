namespace RxEventBus.Internal;

// One live subscription of any kind. The bus attaches it to the hubs of the topics it receives; a hub
// calls Deliver under its delivery lock. Subclasses decide how an observer is called and which lock keeps
// its notifications from overlapping (the Rx contract): a one-topic subscription is serialized by its
// hub's lock, a pattern subscription spans hubs and so has a lock of its own.
internal abstract class Subscription : IDisposable, IObserver<Event>
{
    private int _disposed;
    private int _terminated;

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

    // Stopped means no more OnNext: disposed by the user, or completed/failed by the bus.
    internal bool IsStopped => Volatile.Read(ref _disposed) != 0 || Volatile.Read(ref _terminated) != 0;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Bus.Unsubscribe(this);
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

    // Sends OnCompleted (error null) or OnError once, never overlapping an OnNext. Called outside the bus's
    // structure lock: it runs user code.
    internal void Terminate(Exception? error)
    {
        if (Interlocked.Exchange(ref _terminated, 1) != 0 || IsDisposed)
        {
            return;
        }

        using (TerminalLock().EnterScope())
        {
            if (error is null)
            {
                SendCompleted();
            }
            else
            {
                SendError(error);
            }
        }
    }

    protected abstract Lock TerminalLock();

    protected abstract void SendCompleted();

    protected abstract void SendError(Exception error);

    internal SubscriberInfo Describe(IReadOnlyList<string> topics) => new(Id, Kind, Name, Patterns, topics);
}
