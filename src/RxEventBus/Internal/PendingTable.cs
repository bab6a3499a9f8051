using System.Collections.Concurrent;

namespace RxEventBus.Internal;

// Every event that tracked subscribers have not all answered, over all topics. One table for the bus rather than one store per topic, so that nothing per topic outlives the
// topic: an event published before UnregisterTopic stays here (and visible) until it is answered, and then
// the bus holds nothing of that topic any more. A publish pays one add and, on the last answer, one remove,
// as it did with a store per topic; what a table per bus costs instead is that a query by topic (Pending)
// and a departing subscriber's sweep read every pending event, and those are rare.
internal sealed class PendingTable
{
    private readonly ConcurrentDictionary<PendingKey, PendingEntry> _entries = new();

    internal int Count => _entries.Count;

    // A snapshot taken under the table's locks, as the sweep of a departing subscriber needs: every entry
    // added before it is in it; one added after it is skipped by its publisher (see TrackedSubscription).
    internal ICollection<PendingEntry> Entries => _entries.Values;

    internal void Add(PendingEntry entry)
    {
        if (!_entries.TryAdd(entry.Key, entry))
        {
            throw new ArgumentException(
                $"Event {entry.Event.Id} is already pending on topic '{entry.Event.Topic}': a tracked subscriber has not answered it yet. " +
                "Give each event its own id.");
        }
    }

    // This entry, never another one under the same key.
    internal void Remove(PendingEntry entry) => _entries.TryRemove(new KeyValuePair<PendingKey, PendingEntry>(entry.Key, entry));

    internal PendingEntry? Find(string topic, Guid id) => _entries.TryGetValue(new PendingKey(topic, id), out var entry) ? entry : null;
}
