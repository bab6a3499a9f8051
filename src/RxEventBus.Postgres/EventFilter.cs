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

    /// <summary>
    /// At most this many events, the first in the stream's order; at least 1. Default: null, every event that matches.
    /// Set it when only the first events are wanted, rather than stopping the enumeration early: PostgreSQL then plans
    /// for the first rows (an index in occurred order) instead of for all of them (with no index on a filtered column,
    /// a scan and a sort of every match before the first row comes).
    /// </summary>
    public int? Limit { get; init; }
}
