namespace RxEventBus.Postgres.Pipeline;

// What the write stage did with one batch: each row is committed — stored now, or found already stored (a
// duplicate id, written idempotently) — or refused, with the reason. The consumer turns this into acks, dead
// letters, metrics and awaited outcomes in one place (Acknowledger); the writer itself answers nothing.
internal sealed class WriteResult
{
    private List<RowRefusal>? _refused;
    private HashSet<Guid>? _refusedIds;

    // Rows found already stored: committed before (a retry after an ambiguous commit, a republished event).
    internal int Duplicates { get; private set; }

    internal IReadOnlyList<RowRefusal> Refused => _refused ?? (IReadOnlyList<RowRefusal>)[];

    internal void Committed(int rows, int duplicates) => Duplicates += duplicates;

    internal void Refuse(RowRefusal refusal)
    {
        (_refused ??= []).Add(refusal);
        (_refusedIds ??= []).Add(refusal.Row.Event.Id);
    }

    // Ids are unique within a batch: the bus refuses a second pending event with the same id on a topic, and
    // one consumer holds one row per pending event.
    internal bool IsRefused(in EventRow row) => _refusedIds is not null && _refusedIds.Contains(row.Event.Id);
}

// A row the database (or the client, writing its values) refused: it can never be written as it is.
// `ErrorType` is the SQLSTATE for a server error, else the exception's type.
internal readonly record struct RowRefusal(EventRow Row, string Reason, string ErrorType, Exception Error);
