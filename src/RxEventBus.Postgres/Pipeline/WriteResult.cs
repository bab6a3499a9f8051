namespace RxEventBus.Postgres.Pipeline;

// What the write stage did with one batch: each row is committed — stored now, or found already stored (a
// duplicate id, written idempotently) — or refused, with the reason. The consumer turns this into acks, dead
// letters, metrics and awaited outcomes in one place (Acknowledger); the writer itself answers nothing.
internal sealed class WriteResult
{
    private List<RowRefusal>? _refused;
    private HashSet<TrackedEvent>? _refusedDeliveries;

    // Rows found already stored: committed before (a retry after an ambiguous commit, a republished event).
    internal int Duplicates { get; private set; }

    internal IReadOnlyList<RowRefusal> Refused => _refused ?? (IReadOnlyList<RowRefusal>)[];

    internal void Committed(int rows, int duplicates) => Duplicates += duplicates;

    internal void Refuse(RowRefusal refusal)
    {
        (_refused ??= []).Add(refusal);
        (_refusedDeliveries ??= []).Add(refusal.Row.Delivery);
    }

    // By delivery, not by id: two events of one batch may share an id on different topics, and only the refused
    // one may go unanswered.
    internal bool IsRefused(in EventRow row) => _refusedDeliveries is not null && _refusedDeliveries.Contains(row.Delivery);
}

// A row the database (or the client, writing its values) refused: it can never be written as it is.
// `ErrorType` is the SQLSTATE for a server error, else the exception's type.
internal readonly record struct RowRefusal(EventRow Row, string Reason, string ErrorType, Exception Error);
