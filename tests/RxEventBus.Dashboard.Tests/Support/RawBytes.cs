using RxEventBus.Postgres;

namespace RxEventBus.Dashboard.Tests.Support;

/// <summary>A serializer that writes a payload of bytes as they are: a bytea table holding what is not JSON.</summary>
internal sealed class RawBytes : IEventSerializer
{
    public ValueTask<byte[]> SerializeAsync(Event @event, CancellationToken cancellationToken) => ValueTask.FromResult((byte[])@event.Data);

    public object Deserialize(string topic, ReadOnlySpan<byte> payload) => payload.ToArray();
}
