namespace RxEventBus.Postgres;

/// <summary>Why an event awaited with <see cref="PostgresConsumer.PublishAsync(Event, CancellationToken)"/> was not persisted.</summary>
public enum PersistenceOutcome
{
    /// <summary>The buffer was full and the overflow policy (<c>DropOldest</c>, <c>DropNewest</c>) dropped it.</summary>
    Dropped,

    /// <summary>It can never be written as it is; it was stored as a dead letter (see <see cref="PostgresConsumer.DeadLetterStore"/>).</summary>
    DeadLettered,

    /// <summary>The consumer stopped, or faulted, before the event's batch committed; it is listed in <see cref="PostgresConsumer.Unwritten"/>.</summary>
    Unwritten,

    /// <summary>
    /// The consumer did not receive it: its topic is not one the consumer persists (<see cref="PostgresPersistenceOptions.Topics"/>),
    /// or the consumer was not running. The event was still published to the bus's other subscribers.
    /// </summary>
    NotPersisted,
}
