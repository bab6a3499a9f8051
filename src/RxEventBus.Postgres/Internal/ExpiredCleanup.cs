namespace RxEventBus.Postgres.Internal;

// What one cleanup removed: the rows deleted one by one (every expired row of a plain table; the default partition's
// of a partitioned one) and the partitions dropped whole.
internal sealed record ExpiredCleanup(int Deleted, IReadOnlyList<string> DroppedPartitions);
