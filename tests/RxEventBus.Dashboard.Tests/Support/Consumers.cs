using RxEventBus.Postgres;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Dashboard.Tests.Support;

internal static class Consumers
{
    /// <summary>A started consumer on the fixture's database, writing each event as it comes (batches of one).</summary>
    public static async Task<PostgresConsumer> StartAsync(PostgresFixture database, EventBus bus, string schema, string table,
        Action<PostgresPersistenceOptions>? configure = null)
    {
        var options = new PostgresPersistenceOptions
        {
            ConnectionString = database.ConnectionString,
            Schema = schema,
            Table = table,
            MaxBatchSize = 1,
            AutoDeleteWithTtl = false,
            RetryJitter = 0,
        };
        configure?.Invoke(options);
        var consumer = new PostgresConsumer(bus, options);
        await consumer.StartAsync();
        return consumer;
    }
}

/// <summary>A serializer that writes a payload of bytes as they are: a bytea table holding what is not JSON.</summary>
internal sealed class RawBytes : IEventSerializer
{
    public ValueTask<byte[]> SerializeAsync(Event @event, CancellationToken cancellationToken) => ValueTask.FromResult((byte[])@event.Data);

    public object Deserialize(string topic, ReadOnlySpan<byte> payload) => payload.ToArray();
}
