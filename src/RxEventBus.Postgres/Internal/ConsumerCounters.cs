namespace RxEventBus.Postgres.Internal;

// The consumer's counters, bumped from the publisher's thread and the writers at once. Each count also goes
// to the consumer's instruments, so Statistics and the metrics never disagree.
internal sealed class ConsumerCounters(PersistenceMetrics metrics)
{
    private long _received;
    private long _persisted;
    private long _duplicates;
    private long _dropped;
    private long _refused;
    private long _deadLettered;
    private long _retries;
    private long _batches;

    internal void Received() => Interlocked.Increment(ref _received);

    // `rows` committed now or before; `duplicates` of them were already stored.
    internal void Committed(int rows, int duplicates)
    {
        Interlocked.Add(ref _persisted, rows);
        metrics.Persisted(rows);
        if (duplicates != 0)
        {
            Interlocked.Add(ref _duplicates, duplicates);
            metrics.Duplicates(duplicates);
        }
    }

    internal void Dropped()
    {
        Interlocked.Increment(ref _dropped);
        metrics.Dropped();
    }

    internal void Refused()
    {
        Interlocked.Increment(ref _refused);
        metrics.Refused();
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
        buffered)
    {
        Refused = Interlocked.Read(ref _refused),
        Duplicates = Interlocked.Read(ref _duplicates),
    };
}
