namespace RxEventBus.Postgres;

/// <summary>
/// The type of the events table's <c>data</c> column, which holds each event's payload as the
/// <see cref="IEventSerializer"/> made it. Chosen per table when the library creates it; docs/persistence.md says
/// what each costs per row and what each allows.
/// </summary>
public enum PayloadType
{
    /// <summary>
    /// <c>jsonb</c>: parsed into PostgreSQL's binary JSON on write, so SQL can query inside payloads
    /// (<c>data-&gt;&gt;'field'</c>, <c>@&gt;</c>, GIN indexes). The most expensive to write.
    /// </summary>
    Jsonb = 0,

    /// <summary>
    /// <c>json</c>: checked to be valid JSON on write and stored as text; SQL's JSON operators work on it (each
    /// query parses it again), but it cannot be indexed by GIN.
    /// </summary>
    Json = 1,

    /// <summary>
    /// <c>bytea</c>: the serializer's bytes as they are, not checked by the server; the cheapest to write, and the
    /// only type for a serializer that does not make JSON. SQL sees bytes.
    /// </summary>
    Bytea = 2,
}
