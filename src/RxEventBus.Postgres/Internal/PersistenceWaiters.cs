using System.Collections.Concurrent;

namespace RxEventBus.Postgres.Internal;

// The events a caller awaits (PostgresConsumer.PublishAsync), by id, each completed with its outcome. Publishers
// that do not await pay nothing: every check on the pipeline's side starts with one read of a count, and
// nothing is allocated per event unless someone waits for it.
internal sealed class PersistenceWaiters
{
    private readonly ConcurrentDictionary<(Guid Id, string Topic), Waiter> _waiters = new();
    private int _count;

    internal bool Any => Volatile.Read(ref _count) != 0;

    internal Waiter Add(Event @event)
    {
        var waiter = new Waiter(@event);
        if (!_waiters.TryAdd(Key(@event), waiter))
        {
            throw new InvalidOperationException(
                $"Event {@event.Id} on topic '{@event.Topic}' is already being awaited by another PublishAsync; give each event its own id.");
        }

        Interlocked.Increment(ref _count);
        return waiter;
    }

    internal void Remove(Waiter waiter)
    {
        if (_waiters.TryRemove(new KeyValuePair<(Guid, string), Waiter>(Key(waiter.Event), waiter)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    // On the publisher's thread, before Publish returns: the consumer has the event.
    internal void Accepted(Event @event)
    {
        if (Any && _waiters.TryGetValue(Key(@event), out var waiter))
        {
            waiter.Accepted = true;
        }
    }

    internal void Committed(Event @event)
    {
        if (Take(@event) is { } waiter)
        {
            waiter.Completion.TrySetResult();
        }
    }

    internal void Failed(Event @event, PersistenceOutcome outcome, string reason)
    {
        if (Take(@event) is { } waiter)
        {
            waiter.Completion.TrySetException(new EventNotPersistedException(@event.Id, @event.Topic, outcome, reason));
        }
    }

    internal void FailAll(PersistenceOutcome outcome, string reason)
    {
        foreach (var waiter in _waiters.Values)
        {
            if (waiter.Accepted)
            {
                Failed(waiter.Event, outcome, reason);
            }
        }
    }

    // Ids identify events within a topic on the bus; the same id on another topic is another event.
    private static (Guid, string) Key(Event @event) => (@event.Id, @event.Topic);

    private Waiter? Take(Event @event)
    {
        if (!Any || !_waiters.TryGetValue(Key(@event), out var waiter))
        {
            return null;
        }

        Remove(waiter);
        return waiter;
    }

    internal sealed class Waiter(Event @event)
    {
        private volatile bool _accepted;

        internal Event Event { get; } = @event;

        // Set on the publisher's thread inside Publish, read by PublishAsync after it returns.
        internal bool Accepted
        {
            get => _accepted;
            set => _accepted = value;
        }

        internal TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    }
}
