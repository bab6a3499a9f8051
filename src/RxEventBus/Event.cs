namespace RxEventBus;

/// <summary>
/// The envelope every event travels in: the fields of Elixir <c>event_bus</c>'s <c>%EventBus.Model.Event{}</c>
/// in .NET types.
/// </summary>
/// <remarks>
/// <para>An event is immutable once built; use a <c>with</c> expression to derive another one.</para>
/// <para><see cref="EventBus.Publish(Event)"/> checks the three required members (a non-empty
/// <see cref="Id"/>, a valid <see cref="Topic"/>, a non-null <see cref="Data"/>). Use
/// <see cref="EventBus.Publish{T}(string, T)"/> or <see cref="EventSource"/> to have the id, times, source
/// and ttl filled from <see cref="EventBusOptions"/>.</para>
/// </remarks>
public sealed record Event
{
    /// <summary>Unique id of the event. The bus's default generator makes time-ordered UUIDv7 ids.</summary>
    public required Guid Id { get; init; }

    /// <summary>The topic the event is published to.</summary>
    public required string Topic { get; init; }

    /// <summary>The payload. Never null.</summary>
    public required object Data { get; init; }

    /// <summary>
    /// Groups events caused by one business operation.
    /// <see cref="EventSource"/> sets it to the event's own <see cref="Id"/> when none is given.
    /// </summary>
    public Guid? TransactionId { get; init; }

    /// <summary>When the code that produced <see cref="Data"/> started (set by <see cref="EventSource"/>).</summary>
    public DateTimeOffset? InitializedAt { get; init; }

    /// <summary>When <see cref="Data"/> was produced.</summary>
    public DateTimeOffset? OccurredAt { get; init; }

    /// <summary>Who produced the event (a module, service or class name).</summary>
    public string? Source { get; init; }

    /// <summary>How long the event stays relevant; persistence deletes it after this long.</summary>
    public TimeSpan? Ttl { get; init; }

    /// <summary>
    /// How long the code that produced <see cref="Data"/> ran: <see cref="OccurredAt"/> − <see cref="InitializedAt"/>;
    /// null unless both are set (as <see cref="EventSource"/> sets them).
    /// </summary>
    /// <remarks>Computed, not stored: it takes no part in equality.</remarks>
    public TimeSpan? Duration => OccurredAt - InitializedAt;

    /// <summary>A typed view of this event, for payloads of type <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidCastException">The payload is not a <typeparamref name="T"/>.</exception>
    public Event<T> As<T>() => new(this);
}
