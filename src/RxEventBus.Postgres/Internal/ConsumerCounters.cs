namespace RxEventBus.Postgres.Internal;

// The consumer's counters, bumped from the publisher's thread and the writers at once. Each count also goes
// to the consumer's instruments, so Statistics and the metrics never disagree.
internal sealed class ConsumerCounters(PersistenceMetrics metrics)
{
    private long _received;
    private long _persisted;
    private long _dropped;
    private long _deadLettered;
    private long _retries;
    private long _batches;

    internal void Received() => Interlocked.Increment(ref _received);

    internal void Committed(int rows)
    {
        Interlocked.Add(ref _persisted, rows);
        metrics.Persisted(rows);
    }

    internal void Dropped()
    {
        Interlocked.Increment(ref _dropped);
        metrics.Dropped();
    }

    internal void DeadLettered()
    {
        Interlocked.Increment(ref _deadLettered);
        metrics.DeadLettered();
    }

    internal void Retried()
    {
        Interlocked.Increment(ref _retries);
        metrics.Retried();
    }

    internal void Batched(int size)
    {
        Interlocked.Increment(ref _batches);
        metrics.Batched(size);
    }

    internal PersistenceStatistics Snapshot(int buffered) => new(
        Interlocked.Read(ref _received),
        Interlocked.Read(ref _persisted),
        Interlocked.Read(ref _dropped),
        Interlocked.Read(ref _deadLettered),
        Interlocked.Read(ref _retries),
        Interlocked.Read(ref _batches),
        buffered);
}
