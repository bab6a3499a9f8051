using System.Buffers;
using System.Text;

namespace RxEventBus.Postgres.Internal;

// A row's payload read back through the serializer, which takes the bytes it made: for a jsonb or json column the
// JSON as UTF-8, for a bytea column the bytes as stored. Readers follow the column's actual type, whatever type
// their own options name, so any reader reads any table. The store's queries (Dapper, DbDataReader.GetValue) hand
// jsonb and json out as a string, which is encoded into a pooled buffer rather than a new array per row, and bytea
// as a byte[]; the subscription reads the column's bytes as they came. A payload the serializer cannot read is an
// error naming the event, never a skipped row.
internal static class StoredPayload
{
    // The value GetValue returned for the data column: a string (jsonb, json) or a byte[] (bytea).
    internal static object Deserialize(IEventSerializer serializer, Guid id, string topic, object value, string where) => value switch
    {
        string json => Deserialize(serializer, id, topic, json, where),
        byte[] bytes => Deserialize(serializer, id, topic, bytes.AsSpan(), where),
        _ => throw new InvalidOperationException(
            $"The stored payload of event {id} (topic '{topic}'){where} is a {value.GetType().Name}: the data column must be jsonb, json or bytea."),
    };

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

    // The payload as PostgreSQL sent it: UTF-8 JSON (Npgsql's client encoding) or a bytea column's bytes.
    internal static object Deserialize(IEventSerializer serializer, Guid id, string topic, ReadOnlySpan<byte> payload, string where)
    {
        try
        {
            return serializer.Deserialize(topic, payload);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException(
                $"The stored payload of event {id} (topic '{topic}'){where} cannot be deserialized: {e.Message}", e);
        }
    }
}
