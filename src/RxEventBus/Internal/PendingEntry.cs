namespace RxEventBus.Internal;

// One published event that tracked subscribers still owe an answer. Its subscriber list is the tracked
// subscribers of the topic at publish time; each answers once, and the last answer removes the entry
// from the bus's table. Answers come from any thread, so every state change is a CAS.
internal sealed class PendingEntry
{
    internal const int Waiting = 0;
    internal const int Completed = 1;
    internal const int Skipped = 2;

    // One state per tracked subscriber. With one subscriber (the common case: a persistence consumer) the
    // state lives in _single and no array is allocated: every object per event is one more for the GC to
    // promote while the event waits for its batch.
    private readonly int[]? _states;
    private int _single;
    private int _remaining;

    internal PendingEntry(Event @event, TrackedSubscription[] subscribers, PendingTable table)
    {
        Event = @event;
        Subscribers = subscribers;
        Table = table;
        _states = subscribers.Length > 1 ? new int[subscribers.Length] : null;
        _remaining = subscribers.Length;
    }

    internal Event Event { get; }

    internal TrackedSubscription[] Subscribers { get; }

    internal PendingTable Table { get; }

    // Made from the event rather than stored: the event's own Topic string is the one the publish added it
    // with, so the removal compares it by reference, and the entry stays as small as it was.
    internal PendingKey Key => new(Event.Topic, Event.Id);

    internal int StateOf(int slot) => Volatile.Read(ref State(slot));

    internal void Mark(int slot, int state)
    {
        if (!TryMark(slot, state))
        {
            throw new InvalidOperationException(
                $"Tracked subscriber '{Subscribers[slot].Name}' already marked event {Event.Id} on topic '{Event.Topic}' " +
                (StateOf(slot) == Completed ? "completed." : "skipped."));
        }
    }

    // False when this slot was already answered: marking is idempotent for the bus's own bookkeeping
    // (a subscriber that throws, or goes away, is marked skipped without racing its own answers).
    internal bool TryMark(int slot, int state)
    {
        if (Interlocked.CompareExchange(ref State(slot), state, Waiting) != Waiting)
        {
            return false;
        }

        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            Table.Remove(this);
        }

        return true;
    }

    private ref int State(int slot) => ref _states is null ? ref _single : ref _states[slot];

    internal bool Owes(string subscriber)
    {
        for (var i = 0; i < Subscribers.Length; i++)
        {
            if (Subscribers[i].Name == subscriber && StateOf(i) == Waiting)
            {
                return true;
            }
        }

        return false;
    }

    internal PendingEvent Snapshot()
    {
        var subscribers = new string[Subscribers.Length];
        var completers = new List<string>();
        var skippers = new List<string>();
        for (var i = 0; i < Subscribers.Length; i++)
        {
            subscribers[i] = Subscribers[i].Name;
            switch (StateOf(i))
            {
                case Completed:
                    completers.Add(Subscribers[i].Name);
                    break;
                case Skipped:
                    skippers.Add(Subscribers[i].Name);
                    break;
            }
        }

        return new PendingEvent(Event, subscribers, completers, skippers);
    }
}
