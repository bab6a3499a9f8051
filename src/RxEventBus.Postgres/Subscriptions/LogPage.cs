namespace RxEventBus.Postgres.Subscriptions;

// One read of the table behind the fence. `Events`: the rows whose topic the subscription takes, in order.
// `RowsRead`: every row the query returned, taken or passed over. `End`: where the reader stands after this
// page — the last row read, or, when the page was not full, the fence itself (fence − 1, long.MaxValue): every
// transaction below the fence has ended, so no row can ever appear below it again, and the checkpoint may
// move past rows of other topics and past a stretch of the table with nothing in it. `HeldBack`: committed rows
// exist beyond the fence, waiting for an older transaction that is still open (anywhere in the cluster).
internal sealed record LogPage(IReadOnlyList<LoggedEvent> Events, int RowsRead, LogPosition End, bool Full, bool HeldBack = false);

internal readonly record struct LoggedEvent(LogPosition Position, Event Event);
