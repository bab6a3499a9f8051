namespace RxEventBus;

/// <summary>
/// What <see cref="EventSource"/> stamps on the event it builds, beyond the topic and data.
/// Anything left null is taken from the bus's options.
/// </summary>
public sealed record EventSourceParams
{
    /// <summary>The event id. Default: a new id from <see cref="EventBusOptions.IdGenerator"/>.</summary>
    public Guid? Id { get; init; }

    /// <summary>
    /// The transaction id. Default: the event's id, as <c>event_bus</c>'s <c>EventSource</c> does — an event
    /// that is not part of a larger operation is its own transaction (for a failure event, its own id too).
    /// </summary>
    public Guid? TransactionId { get; init; }

    /// <summary>The source. Default: <see cref="EventBusOptions.DefaultSource"/>.</summary>
    public string? Source { get; init; }

    /// <summary>The ttl. Default: <see cref="EventBusOptions.DefaultTtl"/>.</summary>
    public TimeSpan? Ttl { get; init; }

    /// <summary>
    /// Where a failure of the producing function is published, as an event whose data is an
    /// <see cref="EventFailure"/>. Default: none — a failure is only thrown.
    /// </summary>
    public string? ErrorTopic { get; init; }
}
