using System.Collections.Concurrent;

namespace RxEventBus.Internal;

// The events of one topic that tracked subscribers have not all answered. It outlives its topic's
// registration: an event published before UnregisterTopic stays pending (and visible) until answered.
internal sealed class PendingStore
{
    private readonly ConcurrentDictionary<Guid, PendingEntry> _entries = new();

    internal PendingStore(string topic) => Topic = topic;

    internal string Topic { get; }

    internal int Count => _entries.Count;

    internal void Add(PendingEntry entry)
    {
        if (!_entries.TryAdd(entry.Event.Id, entry))
        {
            throw new ArgumentException(
                $"Event {entry.Event.Id} is already pending on topic '{Topic}': a tracked subscriber has not answered it yet. " +
                "Give each event its own id.");
        }
    }

    internal void Remove(PendingEntry entry) =>
        _entries.TryRemove(new KeyValuePair<Guid, PendingEntry>(entry.Event.Id, entry));

    internal PendingEntry? Find(Guid id) => _entries.TryGetValue(id, out var entry) ? entry : null;

    internal IEnumerable<PendingEntry> Entries => _entries.Values;
}
