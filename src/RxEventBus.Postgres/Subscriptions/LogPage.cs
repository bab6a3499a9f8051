namespace RxEventBus.Postgres.Subscriptions;

// One page of the table behind the fence (of a statement LogStream reads). `Events`: the rows whose topic the
// subscription takes, in order. `RowsRead`: every row of the page, taken or passed over. `End`: where the reader
// stands after this page — the last row read, or, when the page was not full, the fence itself (BelowFence):
// every transaction below the fence has ended, so no row can ever appear below it again, and the checkpoint may
// move past rows of other topics and past a stretch of the table with nothing in it. `HeldBack`: committed rows
// exist beyond the fence, waiting for an older transaction that is still open (anywhere in the cluster).
internal sealed record LogPage(IReadOnlyList<LoggedEvent> Events, int RowsRead, LogPosition End, bool Full, bool HeldBack = false)
{
    // Every transaction below the fence has ended: nothing can appear at or before (fence − 1, max) any more.
    internal static LogPosition BelowFence(ulong fence) => new(fence - 1, long.MaxValue);
}

// A row of a page. The reader builds the Event (and deserializes its payload) only when it is about to be
// yielded: a page held whole as Events outlives the first GC generation and gets copied into the older ones,
// which made catching up several times slower than reading the same rows raw (docs/benchmarks.md, issue 12).
internal readonly struct LoggedEvent
{
    private readonly Event? _event;
    private readonly StoredRow? _row;
    private readonly Func<StoredRow, Event>? _materialize;

    internal LoggedEvent(LogPosition position, Event @event)
    {
        Position = position;
        _event = @event;
    }

    internal LoggedEvent(LogPosition position, StoredRow row, Func<StoredRow, Event> materialize)
    {
        Position = position;
        _row = row;
        _materialize = materialize;
    }

    internal LogPosition Position { get; }

    internal Event Materialize() => _event ?? _materialize!(_row!);
}

// The columns of one row as read, the payload still as its UTF-8 text (what the serializer reads: no string made
// and transcoded back per row).
internal sealed record StoredRow(
    Guid Id, Guid? TransactionId, string Topic, byte[] Data, DateTime? InitializedAt, DateTime? OccurredAt, string? Source, TimeSpan? Ttl);
