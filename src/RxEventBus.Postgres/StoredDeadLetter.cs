namespace RxEventBus.Postgres;

/// <summary>A row of the dead-letter table (<see cref="DeadLetterStore"/>): an event that could not be written, and why.</summary>
/// <param name="Id">The event's id.</param>
/// <param name="TransactionId">The event's transaction id.</param>
/// <param name="Topic">The event's topic.</param>
/// <param name="Data">The payload as the serializer made it, read as UTF-8 text (its JSON), or null when it could not be made.
/// Bytes that are not UTF-8 (a bytea table's serializer of another format) show as U+FFFD here; both replays use the
/// stored bytes.</param>
/// <param name="DataType">The .NET type of the payload.</param>
/// <param name="InitializedAt">The event's <see cref="Event.InitializedAt"/>, in UTC.</param>
/// <param name="OccurredAt">The event's <see cref="Event.OccurredAt"/>, in UTC.</param>
/// <param name="Source">The event's source (a character PostgreSQL cannot store is replaced by U+FFFD).</param>
/// <param name="Ttl">The event's own ttl, if it had one.</param>
/// <param name="Reason">Why it could not be written, the last time it failed.</param>
/// <param name="ErrorType">The SQLSTATE, or the exception's type, of the last failure.</param>
/// <param name="FirstFailedAt">When it was first dead-lettered (the bus's scheduler time).</param>
/// <param name="LastFailedAt">When it last failed.</param>
/// <param name="Attempts">How many times it failed: once, plus once per failed replay.</param>
public sealed record StoredDeadLetter(
    Guid Id,
    Guid? TransactionId,
    string Topic,
    string? Data,
    string? DataType,
    DateTimeOffset? InitializedAt,
    DateTimeOffset? OccurredAt,
    string? Source,
    TimeSpan? Ttl,
    string Reason,
    string ErrorType,
    DateTimeOffset FirstFailedAt,
    DateTimeOffset LastFailedAt,
    int Attempts);
