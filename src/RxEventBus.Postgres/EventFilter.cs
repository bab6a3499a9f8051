namespace RxEventBus.Postgres;

/// <summary>
/// Which events <see cref="EventStore.ReadAsync"/> streams. Every criterion is optional and they combine with
/// AND; the default filter reads the whole table.
/// </summary>
public sealed record EventFilter
{
    /// <summary>A filter with no criteria: every event.</summary>
    public static EventFilter All { get; } = new();

    /// <summary>Only events that occurred at or after this time (inclusive). Default: no bound.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only events that occurred before this time (exclusive, so consecutive windows do not overlap). Default: no bound.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>
    /// Only events of these topics (exact names, not patterns). Default: null, every topic. An empty collection
    /// is refused rather than read as "no topic".
    /// </summary>
    public IReadOnlyCollection<string>? Topics { get; init; }

    /// <summary>Only events of this transaction. Default: any transaction, or none.</summary>
    public Guid? TransactionId { get; init; }
}
