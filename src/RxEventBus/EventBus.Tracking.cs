using RxEventBus.Internal;

namespace RxEventBus;

public sealed partial class EventBus
{
    /// <summary>
    /// A tracked subscriber (the seed's subscriber with its observation manager): it receives every event of
    /// the topics matching <paramref name="patterns"/> as a <see cref="TrackedEvent"/>, which it must answer
    /// with <see cref="TrackedEvent.MarkCompleted"/> or <see cref="TrackedEvent.MarkSkipped"/>. The bus keeps
    /// each such event (<see cref="FetchEvent"/>, <see cref="Pending"/>) until every tracked subscriber of its
    /// topic has answered.
    /// </summary>
    /// <remarks>
    /// <para>Each <c>Subscribe</c> registers the subscriber under <paramref name="subscriber"/>; the name must
    /// be unique among live tracked subscribers, or the subscription ends at once with
    /// <see cref="InvalidOperationException"/>. Disposing the subscription skips every event it still owes.</para>
    /// <para>An event whose <c>OnNext</c> threw counts as skipped by that subscriber (the seed's rule).</para>
    /// </remarks>
    /// <exception cref="ArgumentException">The name is empty, or a pattern is invalid (see <see cref="Match"/>).</exception>
    public IObservable<TrackedEvent> Tracked(string subscriber, params string[] patterns)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(subscriber);
        var matcher = new TopicPatterns(patterns, Options.RegexMatchTimeout, nameof(patterns));
        ThrowIfDisposed();
        return new BusObservable<TrackedEvent>(observer =>
            SubscribeToPatterns(observer, id => new TrackedSubscription(this, id, subscriber, matcher, observer)));
    }

    /// <summary>
    /// Marks event <paramref name="id"/> of <paramref name="topic"/> completed by <paramref name="subscriber"/>
    /// (the seed's <c>mark_as_completed({subscriber, topic, id})</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The event is not pending on that topic, or the subscriber
    /// already answered it.</exception>
    /// <exception cref="ArgumentException">The event was not delivered to a tracked subscriber of that name.</exception>
    public void MarkCompleted(string subscriber, string topic, Guid id) =>
        FindOwed(subscriber, topic, id, out var slot).Mark(slot, PendingEntry.Completed);

    /// <summary>
    /// Marks event <paramref name="id"/> of <paramref name="topic"/> skipped by <paramref name="subscriber"/>
    /// (the seed's <c>mark_as_skipped({subscriber, topic, id})</c>).
    /// </summary>
    /// <inheritdoc cref="MarkCompleted" path="/exception"/>
    public void MarkSkipped(string subscriber, string topic, Guid id) =>
        FindOwed(subscriber, topic, id, out var slot).Mark(slot, PendingEntry.Skipped);

    /// <summary>The pending event <paramref name="id"/> of <paramref name="topic"/>, or null if the bus does not hold it.</summary>
    public Event? FetchEvent(string topic, Guid id)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return _pending.TryGetValue(topic, out var store) ? store.Find(id)?.Event : null;
    }

    /// <summary>The data of the pending event <paramref name="id"/> of <paramref name="topic"/>, or null if the bus does not hold it.</summary>
    public object? FetchEventData(string topic, Guid id) => FetchEvent(topic, id)?.Data;

    /// <summary>
    /// The events of <paramref name="topic"/> still waiting for a tracked subscriber's answer, with who received,
    /// completed and skipped each one. Empty for a topic with none (registered or not).
    /// </summary>
    public IReadOnlyList<PendingEvent> Pending(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return _pending.TryGetValue(topic, out var store)
            ? [.. store.Entries.Select(e => e.Snapshot()).OrderBy(p => p.Event.Id)]
            : [];
    }

    /// <summary>
    /// The events delivered to the tracked subscriber named <paramref name="subscriber"/> that it has not
    /// answered yet, over all topics: what it would leave unhandled if it stopped now.
    /// </summary>
    public IReadOnlyList<Event> Owed(string subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        return [.. _pending.Values
            .SelectMany(store => store.Entries)
            .Where(entry => entry.Owes(subscriber))
            .Select(entry => entry.Event)
            .OrderBy(e => e.Id)];
    }

    private PendingEntry FindOwed(string subscriber, string topic, Guid id, out int slot)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        ArgumentNullException.ThrowIfNull(topic);
        var entry = _pending.TryGetValue(topic, out var store) ? store.Find(id) : null;
        if (entry is null)
        {
            throw new InvalidOperationException(
                $"Event {id} is not pending on topic '{topic}': it was never delivered there to a tracked subscriber, " +
                "or every tracked subscriber has already answered it.");
        }

        slot = Array.FindIndex(entry.Subscribers, s => s.Name == subscriber);
        if (slot < 0)
        {
            throw new ArgumentException(
                $"Event {id} on topic '{topic}' was not delivered to a tracked subscriber named '{subscriber}'; it was delivered to: " +
                string.Join(", ", entry.Subscribers.Select(s => "'" + s.Name + "'")) + ".",
                nameof(subscriber));
        }

        return entry;
    }
}
