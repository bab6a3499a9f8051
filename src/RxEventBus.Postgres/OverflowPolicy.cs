namespace RxEventBus.Postgres;

/// <summary>What the persistence consumer does with a new event when its bounded buffer is full.</summary>
public enum OverflowPolicy
{
    /// <summary>The publisher blocks until there is room. Loses nothing; the default.</summary>
    Wait,

    /// <summary>The oldest buffered event is dropped (counted, logged, reported) to make room.</summary>
    DropOldest,

    /// <summary>The new event is dropped (counted, logged, reported).</summary>
    DropNewest,

    /// <summary>The publisher gets an <see cref="EventRejectedException"/>; the event is not persisted.</summary>
    Fail,
}
