namespace RxEventBus.Postgres.Pipeline;

// One row of the events table, ready for COPY, with the tracked delivery it acknowledges once committed.
// Times are UTC (timestamptz takes only offset 0) and PostgreSQL keeps them to the microsecond.
internal sealed record EventRow(
    TrackedEvent Delivery,
    byte[] Data,
    DateTimeOffset? InitializedAt,
    DateTimeOffset? OccurredAt,
    DateTimeOffset? ExpiresAt)
{
    internal Event Event => Delivery.Event;
}
