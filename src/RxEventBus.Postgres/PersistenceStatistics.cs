namespace RxEventBus.Postgres;

/// <summary>What the persistence consumer has done since it started: a snapshot of its counters.</summary>
/// <param name="Received">Events accepted into the buffer.</param>
/// <param name="Persisted">Events whose batch committed (and which were then acknowledged on the bus).</param>
/// <param name="Dropped">Events dropped by a DropOldest/DropNewest overflow policy.</param>
/// <param name="DeadLettered">Events that can never be written, reported on <see cref="PostgresConsumer.DeadLetters"/>.</param>
/// <param name="Retries">Batch write attempts that failed and were retried.</param>
/// <param name="Batches">Batches cut by the batcher.</param>
/// <param name="Buffered">Events in the buffer right now.</param>
public sealed record PersistenceStatistics(
    long Received,
    long Persisted,
    long Dropped,
    long DeadLettered,
    long Retries,
    long Batches,
    int Buffered);
