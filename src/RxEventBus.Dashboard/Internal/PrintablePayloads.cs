using System.Text.Json;
using RxEventBus.Postgres;

namespace RxEventBus.Dashboard.Internal;

/// <summary>
/// The configured serializer, except that a stored payload that is not JSON (a bytea table written by another
/// serializer) is read as its bytes instead of failing the request — the idea of the CLI's PrintablePayloads,
/// which is internal to the tool. Shown as <c>dataBase64</c> (<see cref="Payloads"/>).
/// </summary>
internal sealed class PrintablePayloads(IEventSerializer inner) : IEventSerializer
{
    public ValueTask<byte[]> SerializeAsync(Event @event, CancellationToken cancellationToken) => inner.SerializeAsync(@event, cancellationToken);

    public object Deserialize(string topic, ReadOnlySpan<byte> payload)
    {
        try
        {
            return inner.Deserialize(topic, payload);
        }
        catch (JsonException)
        {
            return new BinaryPayload(payload.ToArray());
        }
    }
}

/// <summary>A stored payload that is not JSON: the bytes as the table holds them.</summary>
internal sealed record BinaryPayload(byte[] Bytes);
