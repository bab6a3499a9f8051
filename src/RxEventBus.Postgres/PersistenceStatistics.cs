namespace RxEventBus.Postgres;

/// <summary>What the persistence consumer has done since it started: a snapshot of its counters.</summary>
/// <param name="Received">Events accepted into the buffer.</param>
/// <param name="Persisted">Events whose batch committed (and which were then acknowledged on the bus), including
/// <see cref="Duplicates"/>.</param>
/// <param name="Dropped">Events dropped by a DropOldest/DropNewest overflow policy.</param>
/// <param name="DeadLettered">Events that can never be written as they are, stored in the dead-letter table and
/// reported on <see cref="PostgresConsumer.DeadLetters"/>.</param>
/// <param name="Retries">Write attempts (of batches, dead letters or the schema check) that failed and were retried.</param>
/// <param name="Batches">Batches cut by the batcher.</param>
/// <param name="Buffered">Events in the buffer right now.</param>
public sealed record PersistenceStatistics(
    long Received,
    long Persisted,
    long Dropped,
    long DeadLettered,
    long Retries,
    long Batches,
    int Buffered)
{
    /// <summary>
    /// Events refused to their publisher with an <see cref="EventRejectedException"/>: a full buffer under the Fail
    /// policy, a full buffer for longer than <see cref="PostgresPersistenceOptions.PublishTimeout"/> under Wait, or
    /// a consumer that is stopping or faulted. Not received, so not owed.
    /// </summary>
    public long Refused { get; init; }

    /// <summary>Persisted events whose id was already in the table (a retry after an ambiguous commit, a republished event).</summary>
    public long Duplicates { get; init; }
}
