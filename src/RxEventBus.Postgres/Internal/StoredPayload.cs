using System.Buffers;
using System.Text;

namespace RxEventBus.Postgres.Internal;

// A row's payload read back through the serializer. Npgsql and Dapper hand jsonb out as text; the serializer takes
// UTF-8, so the text is encoded into a pooled buffer rather than a new array per row. A payload the serializer
// cannot read is an error naming the event, never a skipped row.
internal static class StoredPayload
{
    internal static object Deserialize(IEventSerializer serializer, Guid id, string topic, string json, string where)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetByteCount(json));
        try
        {
            var length = Encoding.UTF8.GetBytes(json, buffer);
            return serializer.Deserialize(topic, buffer.AsSpan(0, length));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException(
                $"The stored payload of event {id} (topic '{topic}'){where} cannot be deserialized: {e.Message}", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
