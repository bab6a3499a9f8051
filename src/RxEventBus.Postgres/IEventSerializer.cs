namespace RxEventBus.Postgres;

/// <summary>
/// Turns an event's payload into the JSON stored in the <c>jsonb</c> <c>data</c> column, and back. A
/// payload that cannot be serialized makes <see cref="SerializeAsync"/> throw: that event is dead-lettered
/// and the rest of its batch is written.
/// </summary>
public interface IEventSerializer
{
    /// <summary>The payload of <paramref name="event"/> as UTF-8 JSON.</summary>
    ValueTask<byte[]> SerializeAsync(Event @event, CancellationToken cancellationToken);

    /// <summary>The payload stored for an event of <paramref name="topic"/>, from its UTF-8 JSON.</summary>
    object Deserialize(string topic, ReadOnlySpan<byte> json);
}
