using RxEventBus.Postgres;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Dashboard.Tests.Support;

// Also compiled into RxEventBus.Dashboard.BrowserTests, whose server runs the same consumer.
internal static class Consumers
{
    /// <summary>
    /// A started consumer on the fixture's database, writing each event as it comes (batches of one);
    /// <paramref name="beforeStart"/> runs with its options before it starts (to prepare the table).
    /// </summary>
    public static async Task<PostgresConsumer> StartAsync(PostgresFixture database, EventBus bus, string schema, string table,
        Action<PostgresPersistenceOptions>? configure = null, Func<PostgresPersistenceOptions, Task>? beforeStart = null)
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
        if (beforeStart is not null)
        {
            await beforeStart(options);
        }

        var consumer = new PostgresConsumer(bus, options);
        await consumer.StartAsync();
        return consumer;
    }
}
