using System.Text.Json;
using RxEventBus.Postgres;

namespace RxEventBus.Cli;

/// <summary>
/// The serializer <c>query</c> and <c>tail</c> read payloads with: the configured one (JSON), except that a payload
/// that is not JSON — a <c>bytea</c> table written by another serializer (protobuf, MessagePack, …) — is read as its
/// bytes rather than failing the command, and printed as base64 (<see cref="EventOutput"/>). A jsonb or json column
/// always holds JSON, so only a bytea table can lead here.
/// </summary>
internal sealed class PrintablePayloads(IEventSerializer json) : IEventSerializer
{
    public ValueTask<byte[]> SerializeAsync(Event @event, CancellationToken cancellationToken) => json.SerializeAsync(@event, cancellationToken);

    public object Deserialize(string topic, ReadOnlySpan<byte> payload)
    {
        try
        {
            return json.Deserialize(topic, payload);
        }
        catch (JsonException)
        {
            return new BinaryPayload(payload.ToArray());
        }
    }
}

/// <summary>A stored payload that is not JSON: the bytes as the table holds them.</summary>
internal sealed record BinaryPayload(byte[] Bytes)
{
    public string Base64 => Convert.ToBase64String(Bytes);
}
