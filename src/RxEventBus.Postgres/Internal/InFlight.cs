namespace RxEventBus.Postgres.Internal;

// The consumer's own ledger of the events it has taken from its buffer and not yet answered (committed, or
// stored as a dead letter). The bus's pending table is not enough: when the bus ends the consumer's subscription
// (Unsubscribe, a pattern that times out) it marks everything the consumer owes as skipped, while those events are
// still being mapped, batched or written here; and a name can be taken again by another subscriber. So what a
// stop or a fault reports as unwritten comes from here and from the buffer, not from the bus.
//
// An open-addressing set keyed by sequence number (linear probing, tombstones): no allocation per event, one short
// lock per event taken and one per batch answered. Keys are consecutive, so a key's home slot was last used by the
// key one capacity earlier, long answered: inserts and removals take one probe, and removing a whole batch stays
// linear (a backward-shift deletion would walk the rest of the batch's cluster for every row). It holds at most
// what is in flight between the buffer and the writers — (PoolSize + 2) × MaxBatchSize + 2 events — and doubles
// (rarely) when live keys would fill half of it. Tombstones are free slots to an insert, and a removal looks only
// for a key it knows is there, so they never need clearing.
internal sealed class InFlight
{
    private readonly Lock _gate = new();
    private long[] _keys;
    private TrackedEvent[] _values;
    private int _count;
    private long _next;

    internal InFlight(int expected)
    {
        var capacity = 16;
        while (capacity < expected * 2L && capacity < (1 << 30))
        {
            capacity <<= 1;
        }

        _keys = new long[capacity];
        _values = new TrackedEvent[capacity];
        Array.Fill(_keys, Empty);
    }

    private const long Empty = -1;
    private const long Tombstone = -2;

    internal int Count
    {
        get
        {
            using (_gate.EnterScope())
            {
                return _count;
            }
        }
    }

    internal int Capacity
    {
        get
        {
            using (_gate.EnterScope())
            {
                return _keys.Length;
            }
        }
    }

    // Returns the event's sequence number, which its row carries to the ack.
    internal long Add(TrackedEvent delivery)
    {
        using (_gate.EnterScope())
        {
            if ((_count + 1) * 2L > _keys.Length)
            {
                Grow();
            }

            var sequence = _next++;
            Insert(sequence, delivery);
            return sequence;
        }
    }

    // The rows of one answered batch (those `answered` says), under one lock.
    internal void Done<T>(List<T> items, Func<T, bool> answered, Func<T, long> sequenceOf)
    {
        using (_gate.EnterScope())
        {
            foreach (var item in items)
            {
                if (answered(item))
                {
                    Remove(sequenceOf(item));
                }
            }
        }
    }

    // What is in flight now, oldest first.
    internal List<TrackedEvent> Snapshot()
    {
        var held = new List<(long, TrackedEvent)>();
        using (_gate.EnterScope())
        {
            for (var i = 0; i < _keys.Length; i++)
            {
                if (_keys[i] >= 0)
                {
                    held.Add((_keys[i], _values[i]));
                }
            }
        }

        held.Sort(static (a, b) => a.Item1.CompareTo(b.Item1));
        return [.. held.Select(static h => h.Item2)];
    }

    private int Home(long key) => (int)(key & (_keys.Length - 1));

    // Keys are unique, so the first free slot (empty, or a tombstone) from the key's home is its place.
    private void Insert(long key, TrackedEvent value)
    {
        var mask = _keys.Length - 1;
        var i = Home(key);
        while (_keys[i] >= 0)
        {
            i = (i + 1) & mask;
        }

        _keys[i] = key;
        _values[i] = value;
        _count++;
    }

    // Between a key's home and its slot no slot was empty when it was inserted, and slots only become empty again in
    // a Grow: the probe meets the key before an empty slot. Bounded by the capacity all the same.
    private void Remove(long key)
    {
        var mask = _keys.Length - 1;
        var i = Home(key);
        for (var probes = 0; _keys[i] != key; probes++)
        {
            if (_keys[i] == Empty || probes == mask)
            {
                return;
            }

            i = (i + 1) & mask;
        }

        _keys[i] = Tombstone;
        _values[i] = default;
        _count--;
    }

    private void Grow()
    {
        var keys = _keys;
        var values = _values;
        _keys = new long[keys.Length * 2];
        _values = new TrackedEvent[keys.Length * 2];
        Array.Fill(_keys, Empty);
        _count = 0;
        for (var i = 0; i < keys.Length; i++)
        {
            if (keys[i] >= 0)
            {
                Insert(keys[i], values[i]);
            }
        }
    }
}
