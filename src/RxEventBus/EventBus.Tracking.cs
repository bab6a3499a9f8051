using RxEventBus.Internal;

namespace RxEventBus;

public sealed partial class EventBus
{
    /// <summary>
    /// A tracked subscriber: it receives every event of
    /// the topics matching <paramref name="patterns"/> as a <see cref="TrackedEvent"/>, which it must answer
    /// with <see cref="TrackedEvent.MarkCompleted"/> or <see cref="TrackedEvent.MarkSkipped"/>. The bus keeps
    /// each such event (<see cref="FetchEvent"/>, <see cref="Pending"/>) until every tracked subscriber of its
    /// topic has answered.
    /// </summary>
    /// <remarks>
    /// <para>Each <c>Subscribe</c> registers the subscriber under <paramref name="subscriber"/>; the name must
    /// be unique among live tracked subscribers, or the subscription ends at once with
    /// <see cref="InvalidOperationException"/>. Disposing the subscription skips every event it still owes;
    /// so does <see cref="Unsubscribe(string)"/>, which also completes it.</para>
    /// <para>Patterns match at the start of the topic name, as <see cref="Match"/>'s do.</para>
    /// <para>An event whose <c>OnNext</c> threw counts as skipped by that subscriber, so a failing subscriber
    /// never holds an event forever.</para>
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
    /// Marks event <paramref name="id"/> of <paramref name="topic"/> completed by <paramref name="subscriber"/>,
    /// for a subscriber that answers away from its <see cref="TrackedEvent"/> (by name, topic and id).
    /// </summary>
    /// <exception cref="InvalidOperationException">The event is not pending on that topic, or the subscriber
    /// already answered it.</exception>
    /// <exception cref="ArgumentException">The event was not delivered to a tracked subscriber of that name.</exception>
    public void MarkCompleted(string subscriber, string topic, Guid id) =>
        FindOwed(subscriber, topic, id, out var slot).Mark(slot, PendingEntry.Completed);

    /// <summary>
    /// Marks event <paramref name="id"/> of <paramref name="topic"/> skipped by <paramref name="subscriber"/>,
    /// for a subscriber that answers away from its <see cref="TrackedEvent"/> (by name, topic and id).
    /// </summary>
    /// <inheritdoc cref="MarkCompleted" path="/exception"/>
    public void MarkSkipped(string subscriber, string topic, Guid id) =>
        FindOwed(subscriber, topic, id, out var slot).Mark(slot, PendingEntry.Skipped);

    /// <summary>
    /// Ends the live tracked subscriber named <paramref name="subscriber"/>, as disposing its subscription
    /// would (it skips every event it still owes, so none waits for it), and completes its observer with
    /// <c>OnCompleted</c>; the subscription its owner holds then has nothing left to do when disposed. Its
    /// name is free again at once.
    /// </summary>
    /// <remarks>
    /// Never waits for the subscriber: if it is inside <c>OnNext</c> (blocked there, perhaps, by a full
    /// buffer), its <c>OnCompleted</c> comes when that <c>OnNext</c> returns, from the thread that was
    /// delivering, once and never overlapping it.
    /// </remarks>
    /// <returns>True if a live tracked subscriber had that name; false if none had.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="subscriber"/> is null.</exception>
    public bool Unsubscribe(string subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        TrackedSubscription? tracked;
        using (_gate.EnterScope())
        {
            if (!_trackedByName.TryGetValue(subscriber, out tracked))
            {
                return false;
            }

            RemoveLocked(tracked);
        }

        // Swept only once Terminate has recorded the ending, which stops the subscription at once, for the
        // reason EndFailedPatterns gives: a publish that stores its entry after the sweep then skips it itself.
        tracked.Terminate(null);
        tracked.SkipOwedEvents(_pending);
        return true;
    }

    /// <summary>Whether a live tracked subscriber is named <paramref name="subscriber"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="subscriber"/> is null.</exception>
    public bool IsSubscribed(string subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        using (_gate.EnterScope())
        {
            return _trackedByName.ContainsKey(subscriber);
        }
    }

    /// <summary>
    /// The pending event <paramref name="id"/> of <paramref name="topic"/>, or null if the bus does not hold it.
    /// The topic need not be registered: pending events outlive their topic's registration.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="topic"/> is null.</exception>
    public Event? FetchEvent(string topic, Guid id)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return _pending.Find(topic, id)?.Event;
    }

    /// <summary>
    /// The data of the pending event <paramref name="id"/> of <paramref name="topic"/>, or null if the bus does
    /// not hold it (registered topic or not, as <see cref="FetchEvent"/>).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="topic"/> is null.</exception>
    public object? FetchEventData(string topic, Guid id) => FetchEvent(topic, id)?.Data;

    /// <summary>
    /// The events of <paramref name="topic"/> still waiting for a tracked subscriber's answer, with who received,
    /// completed and skipped each one, in id order. Empty for a topic with none, registered or not: pending
    /// events outlive their topic's registration, so asking about an unregistered topic is no error.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="topic"/> is null.</exception>
    public IReadOnlyList<PendingEvent> Pending(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return [.. _pending.Entries
            .Where(entry => string.Equals(entry.Event.Topic, topic, StringComparison.Ordinal))
            .Select(entry => entry.Snapshot())
            .OrderBy(p => p.Event.Id)];
    }

    /// <summary>
    /// The events delivered to the tracked subscriber named <paramref name="subscriber"/> that it has not
    /// answered yet, over all topics: what it would leave unhandled if it stopped now.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="subscriber"/> is null.</exception>
    public IReadOnlyList<Event> Owed(string subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        return [.. _pending.Entries
            .Where(entry => entry.Owes(subscriber))
            .Select(entry => entry.Event)
            .OrderBy(e => e.Id)];
    }

    private PendingEntry FindOwed(string subscriber, string topic, Guid id, out int slot)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        ArgumentNullException.ThrowIfNull(topic);
        var entry = _pending.Find(topic, id);
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
