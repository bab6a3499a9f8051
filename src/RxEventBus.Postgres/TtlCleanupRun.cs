namespace RxEventBus.Postgres;

/// <summary>One finished run of a <see cref="TtlCleaner"/>.</summary>
/// <param name="At">The scheduler time of the tick that started the run: rows that expired before it were deleted.</param>
/// <param name="Deleted">Rows deleted one by one; 0 when the run failed. Rows of dropped partitions are not counted
/// (see <see cref="DroppedPartitions"/>).</param>
/// <param name="Error">Why the run failed, or null. A failed run changes nothing; the next tick tries again.</param>
public sealed record TtlCleanupRun(DateTimeOffset At, int Deleted, Exception? Error)
{
    /// <summary>Whether the run completed its delete.</summary>
    public bool Succeeded => Error is null;

    /// <summary>
    /// Whether the run deleted nothing because another instance was cleaning the table at that moment (it held the
    /// cleaning lock). Such a run succeeded, with <see cref="Deleted"/> 0.
    /// </summary>
    public bool LeftToOtherInstance { get; init; }

    /// <summary>The partitions the run dropped whole, every row in them expired (a partitioned table); empty otherwise.</summary>
    public IReadOnlyList<string> DroppedPartitions { get; init; } = [];

    /// <summary>The partitions the run made ahead (a partitioned table, <see cref="TtlCleaner.PartitionsAhead"/>); empty otherwise.</summary>
    public IReadOnlyList<string> CreatedPartitions { get; init; } = [];
}
