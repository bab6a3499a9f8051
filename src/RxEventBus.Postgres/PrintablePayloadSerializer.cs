using System.Text.Json;

namespace RxEventBus.Postgres;

/// <summary>
/// A serializer for showing stored events rather than processing them (the <c>rxeventbus query</c> and <c>tail</c>
/// commands, the dashboard): it reads a payload with the inner serializer, except that a payload the inner one
/// cannot read as JSON — a <c>bytea</c> table written by a serializer of another format (protobuf, MessagePack, …) —
/// is read as its bytes, a <see cref="BinaryPayload"/>, instead of failing the read. A <c>jsonb</c> or <c>json</c>
/// column always holds JSON, so only a <c>bytea</c> table leads there. Writing is the inner serializer's.
/// </summary>
public sealed class PrintablePayloadSerializer : IEventSerializer
{
    private readonly IEventSerializer _inner;

    /// <summary>Reads with <paramref name="inner"/> (usually a <see cref="JsonEventSerializer"/>) and keeps what is not JSON as bytes.</summary>
    public PrintablePayloadSerializer(IEventSerializer inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
    }

    /// <inheritdoc/>
    public ValueTask<byte[]> SerializeAsync(Event @event, CancellationToken cancellationToken) => _inner.SerializeAsync(@event, cancellationToken);

    /// <inheritdoc/>
    /// <returns>What the inner serializer reads, or a <see cref="BinaryPayload"/> when it finds no JSON there.</returns>
    public object Deserialize(string topic, ReadOnlySpan<byte> json)
    {
        try
        {
            return _inner.Deserialize(topic, json);
        }
        catch (JsonException)
        {
            return new BinaryPayload(json.ToArray());
        }
    }
}
