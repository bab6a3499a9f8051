using System.Diagnostics.CodeAnalysis;
using RxEventBus.Internal;

namespace RxEventBus;

public sealed partial class EventBus
{
    /// <summary>
    /// Publishes <paramref name="event"/> to the subscribers of its topic, synchronously on this thread.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="event"/> is null.</exception>
    /// <exception cref="ArgumentException">The event has an empty id, an invalid topic or null data, or an
    /// event with its id is still pending on its topic.</exception>
    /// <exception cref="TopicNotRegisteredException">Its topic is not registered (and the bus does not
    /// register topics on first use).</exception>
    /// <exception cref="EventRejectedException">A subscriber refused the event (for example a full buffer
    /// under a Fail overflow policy); the other subscribers received it.</exception>
    /// <exception cref="ObjectDisposedException">The bus is disposed.</exception>
    public void Publish(Event @event)
    {
        ArgumentNullException.ThrowIfNull(@event);
        ObjectDisposedException.ThrowIf(_disposed, this);

        // The hub last published to, tried before the dictionary: publishers mostly repeat their topic, and
        // the lookup is the largest fixed cost of a publish. A hub is marked unregistered before it leaves
        // the dictionary, so a stale cache entry is never used.
        var hub = _lastHub;
        if (hub is null || !hub.IsRegistered || !string.Equals(hub.Name, @event.Topic, StringComparison.Ordinal))
        {
            if (@event.Topic is null || !_topics.TryGetValue(@event.Topic, out hub))
            {
                hub = HubForUnregisteredTopic(@event);
            }

            CacheHub(hub);
        }

        if (@event.Id == Guid.Empty || @event.Data is null)
        {
            ThrowInvalidEvent(@event);
        }

        hub.Publish(@event);
    }

    /// <summary>
    /// Builds an event for <paramref name="data"/> with <see cref="CreateEvent"/> and publishes it.
    /// </summary>
    /// <returns>The published event.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="topic"/> or <paramref name="data"/> is null.</exception>
    /// <inheritdoc cref="Publish(Event)" path="/exception"/>
    public Event Publish<T>(string topic, T data)
        where T : notnull
    {
        var @event = CreateEvent(topic, data);
        Publish(@event);
        return @event;
    }

    /// <summary>
    /// Builds an event the way the bus's options say: a new id from <see cref="EventBusOptions.IdGenerator"/>,
    /// <see cref="Event.OccurredAt"/> from the bus's scheduler, <see cref="EventBusOptions.DefaultSource"/> and
    /// <see cref="EventBusOptions.DefaultTtl"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="topic"/> or <paramref name="data"/> is null.</exception>
    public Event CreateEvent(string topic, object data)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(data);
        var now = Scheduler.Now;
        return new Event
        {
            Id = Options.IdGenerator(now),
            Topic = topic,
            Data = data,
            OccurredAt = now,
            Source = Options.DefaultSource,
            Ttl = Options.DefaultTtl,
        };
    }

    // UnregisterTopic drops its hub from the cache, but a publish that found the hub just before may cache it
    // just after: so look again once it is cached. The exchange is a full fence, so either this read sees the
    // hub unregistered or UnregisterTopic's drop comes after this write. Off the hot path: only on a miss.
    private void CacheHub(TopicHub hub)
    {
        Interlocked.Exchange(ref _lastHub, hub);
        if (!hub.IsRegistered)
        {
            Interlocked.CompareExchange(ref _lastHub, null, hub);
        }
    }

    private TopicHub HubForUnregisteredTopic(Event @event)
    {
        TopicName.Validate(@event.Topic, nameof(@event));
        if (!Options.AutoRegisterTopics)
        {
            var notRegistered = new TopicNotRegisteredException(@event.Topic);
            Report(new EventRejection(EventRejectionReason.TopicNotRegistered, @event, null, notRegistered));
            throw notRegistered;
        }

        List<(Subscription, Exception)>? failed = null;
        TopicHub hub;
        using (_gate.EnterScope())
        {
            ThrowIfDisposed();
            hub = HubLocked(@event.Topic, ref failed);
        }

        EndFailedPatterns(failed);
        return hub;
    }

    [DoesNotReturn]
    private static void ThrowInvalidEvent(Event @event)
    {
        if (@event.Id == Guid.Empty)
        {
            throw new ArgumentException(
                $"The event on topic '{@event.Topic}' has an empty Id; give it one (EventBus.CreateEvent makes one).", nameof(@event));
        }

        throw new ArgumentException($"Event {@event.Id} on topic '{@event.Topic}' has null Data; an event must carry data.", nameof(@event));
    }
}
