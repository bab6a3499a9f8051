using System.Buffers;
using System.Text;

namespace RxEventBus.Postgres.Internal;

// A row's payload read back through the serializer, which takes UTF-8. The store's queries (Dapper) hand jsonb out
// as a string, which is encoded into a pooled buffer rather than a new array per row; the subscription reads the
// column's UTF-8 bytes as they came. A payload the serializer cannot read is an error naming the event, never a
// skipped row.
internal static class StoredPayload
{
    internal static object Deserialize(IEventSerializer serializer, Guid id, string topic, string json, string where)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetByteCount(json));
        try
        {
            var length = Encoding.UTF8.GetBytes(json, buffer);
            return Deserialize(serializer, id, topic, buffer.AsSpan(0, length), where);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // The payload as PostgreSQL sent it, UTF-8 (Npgsql's client encoding).
    internal static object Deserialize(IEventSerializer serializer, Guid id, string topic, ReadOnlySpan<byte> utf8Json, string where)
    {
        try
        {
            return serializer.Deserialize(topic, utf8Json);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException(
                $"The stored payload of event {id} (topic '{topic}'){where} cannot be deserialized: {e.Message}", e);
        }
    }
}
