namespace RxEventBus.Postgres.Pipeline;

// One row of the events table, ready for COPY, with the tracked delivery it acknowledges once committed and its
// sequence number in the consumer's ledger of events in flight (InFlight).
// A struct holding only what the event does not: its serialized payload and its effective ttl. The other columns are read
// from the event as the row is written, so a row costs the GC no object of its own while it waits for its
// batch. Times are UTC (timestamptz takes only offset 0) and PostgreSQL keeps them to the microsecond.
internal readonly record struct EventRow(TrackedEvent Delivery, byte[] Data, TimeSpan Ttl, long Sequence)
{
    internal Event Event => Delivery.Event;

    internal DateTimeOffset? InitializedAt => Event.InitializedAt?.ToUniversalTime();

    internal DateTimeOffset? OccurredAt => Event.OccurredAt?.ToUniversalTime();

    internal DateTimeOffset? ExpiresAt => OccurredAt + Ttl;
}
