namespace RxEventBus.Postgres;

/// <summary>
/// An event awaited with <see cref="PostgresConsumer.PublishAsync(Event, CancellationToken)"/> will not be in the
/// events table: <see cref="Outcome"/> says what happened to it instead.
/// </summary>
public sealed class EventNotPersistedException : Exception
{
    /// <summary>Creates the exception for event <paramref name="eventId"/> of <paramref name="topic"/>.</summary>
    public EventNotPersistedException(Guid eventId, string topic, PersistenceOutcome outcome, string reason)
        : base($"Event {eventId} on topic '{topic}' was not persisted ({outcome}): {reason}.")
    {
        EventId = eventId;
        Topic = topic;
        Outcome = outcome;
    }

    /// <summary>Creates the exception with no event (for serializers and tooling).</summary>
    public EventNotPersistedException()
        : base("The event was not persisted.")
    {
        Topic = string.Empty;
    }

    /// <summary>Creates the exception with a message of your own.</summary>
    public EventNotPersistedException(string message)
        : base(message)
    {
        Topic = string.Empty;
    }

    /// <summary>Creates the exception with a message of your own and its cause.</summary>
    public EventNotPersistedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Topic = string.Empty;
    }

    /// <summary>The event's id.</summary>
    public Guid EventId { get; }

    /// <summary>The event's topic.</summary>
    public string Topic { get; }

    /// <summary>What happened to the event instead.</summary>
    public PersistenceOutcome Outcome { get; }
}
