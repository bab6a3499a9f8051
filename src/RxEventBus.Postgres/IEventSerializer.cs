namespace RxEventBus.Postgres;

/// <summary>
/// Turns an event's payload into the bytes stored in the events table's <c>data</c> column, and back. For a
/// <c>jsonb</c> or <c>json</c> column (<see cref="PayloadType"/>) the bytes must be UTF-8 JSON, which the server
/// checks (a row it refuses is dead-lettered); a <c>bytea</c> column stores whatever bytes the serializer of your
/// choice makes — JSON, protobuf, MessagePack — unchecked. A payload that cannot be serialized makes
/// <see cref="SerializeAsync"/> throw: that event is dead-lettered and the rest of its batch is written.
/// </summary>
public interface IEventSerializer
{
    /// <summary>The payload of <paramref name="event"/> as the bytes to store: UTF-8 JSON for a jsonb or json column, any bytes for bytea.</summary>
    ValueTask<byte[]> SerializeAsync(Event @event, CancellationToken cancellationToken);

    /// <summary>
    /// The payload stored for an event of <paramref name="topic"/>, from the bytes <see cref="SerializeAsync"/> made:
    /// the stored JSON as UTF-8 (jsonb and json give back equivalent JSON, not necessarily the same bytes: jsonb
    /// drops insignificant whitespace and duplicate keys and reorders keys), or a bytea column's bytes as stored.
    /// </summary>
    object Deserialize(string topic, ReadOnlySpan<byte> json);
}
