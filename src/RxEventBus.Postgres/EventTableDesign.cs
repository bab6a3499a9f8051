namespace RxEventBus.Postgres;

/// <summary>
/// How the library creates an events table: its indexes and the type of its payload column. An existing table is
/// checked against it (<see cref="SchemaManager"/>): missing indexes of the layout are added, never dropped, and a
/// payload column of another type is a <see cref="SchemaMismatchException"/>.
/// </summary>
public sealed record EventTableDesign
{
    /// <summary>The design of a table made with no options: <see cref="IndexLayout.Default"/>, <see cref="PayloadType.Bytea"/>.</summary>
    public static EventTableDesign Default { get; } = new();

    /// <summary>The secondary indexes (<see cref="IndexLayout"/>).</summary>
    public IndexLayout Indexes { get; init; } = IndexLayout.Default;

    /// <summary>The type of the <c>data</c> column (<see cref="PayloadType"/>).</summary>
    public PayloadType Payload { get; init; } = PayloadType.Bytea;

    /// <summary>
    /// Null (the default): one plain table. Otherwise the table is partitioned by range of <c>expires_at</c>, one
    /// partition per interval of this length (whole minutes, from one minute to 366 days, aligned on the Unix epoch in
    /// UTC), plus a default partition for rows without an expiry and rows past the last partition made. Retention then
    /// drops whole partitions whose every row has expired (docs/persistence.md, "Time partitions").
    /// </summary>
    public TimeSpan? PartitionInterval { get; init; }

    /// <summary>The shortest <see cref="PartitionInterval"/>.</summary>
    public static readonly TimeSpan MinPartitionInterval = TimeSpan.FromMinutes(1);

    /// <summary>The longest <see cref="PartitionInterval"/>.</summary>
    public static readonly TimeSpan MaxPartitionInterval = TimeSpan.FromDays(366);

    // What is wrong with an interval, naming it as `what`; null when it is a valid one.
    internal static string? PartitionIntervalProblem(TimeSpan interval, string what) =>
        interval < MinPartitionInterval || interval > MaxPartitionInterval || interval.Ticks % TimeSpan.TicksPerMinute != 0
            ? FormattableString.Invariant($"{what} must be a whole number of minutes from 1 minute to 366 days, not {interval} ({interval.TotalMilliseconds} ms).")
            : null;
}
