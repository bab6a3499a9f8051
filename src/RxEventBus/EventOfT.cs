namespace RxEventBus;

/// <summary>
/// A typed view of an <see cref="Event"/> whose payload is a <typeparamref name="T"/>. A struct over the
/// envelope: making one copies two references and allocates nothing.
/// </summary>
/// <typeparam name="T">The payload type.</typeparam>
public readonly struct Event<T> : IEquatable<Event<T>>
{
    /// <summary>Wraps <paramref name="envelope"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="envelope"/> is null.</exception>
    /// <exception cref="InvalidCastException">The payload is not a <typeparamref name="T"/>.</exception>
    public Event(Event envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (envelope.Data is not T data)
        {
            throw new InvalidCastException(
                $"Event {envelope.Id} on topic '{envelope.Topic}' carries a {envelope.Data.GetType().FullName}, not a {typeof(T).FullName}.");
        }

        Envelope = envelope;
        Data = data;
    }

    /// <summary>The untyped envelope.</summary>
    public Event Envelope { get; }

    /// <summary>The payload.</summary>
    public T Data { get; }

    /// <inheritdoc cref="Event.Id"/>
    public Guid Id => Envelope.Id;

    /// <inheritdoc cref="Event.Topic"/>
    public string Topic => Envelope.Topic;

    /// <inheritdoc cref="Event.TransactionId"/>
    public Guid? TransactionId => Envelope.TransactionId;

    /// <inheritdoc cref="Event.InitializedAt"/>
    public DateTimeOffset? InitializedAt => Envelope.InitializedAt;

    /// <inheritdoc cref="Event.OccurredAt"/>
    public DateTimeOffset? OccurredAt => Envelope.OccurredAt;

    /// <inheritdoc cref="Event.Duration"/>
    public TimeSpan? Duration => Envelope.Duration;

    /// <inheritdoc cref="Event.Source"/>
    public string? Source => Envelope.Source;

    /// <inheritdoc cref="Event.Ttl"/>
    public TimeSpan? Ttl => Envelope.Ttl;

    /// <inheritdoc/>
    public bool Equals(Event<T> other) => Equals(Envelope, other.Envelope);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Event<T> other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Envelope?.GetHashCode() ?? 0;

    /// <summary>Equality of the envelopes.</summary>
    public static bool operator ==(Event<T> left, Event<T> right) => left.Equals(right);

    /// <summary>Inequality of the envelopes.</summary>
    public static bool operator !=(Event<T> left, Event<T> right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => Envelope?.ToString() ?? "Event<" + typeof(T).Name + "> { }";
}
