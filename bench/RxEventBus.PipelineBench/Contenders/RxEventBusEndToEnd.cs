using RxEventBus.PipelineBench.Infrastructure;
using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench.Contenders;

// (d) RxEventBus as a user runs it: a bus, `new PostgresConsumer(bus, options)`, StartAsync, then Publish
// each event on this thread. Timed from the first Publish until the consumer has committed every row and
// the bus holds no pending event (each was acknowledged after its commit).
internal sealed class RxEventBusEndToEnd(ContenderContext context) : Contender(context)
{
    private EventBus? _bus;
    private PostgresConsumer? _consumer;

    internal override string Key => "d";

    internal override string Description => "RxEventBus: Publish → PostgresConsumer " + Describe(Options(Context));

    internal PostgresConsumer Consumer => _consumer!;

    internal static PostgresPersistenceOptions Options(ContenderContext context) =>
        Options(context.Database, context.Table, context.Settings, TimeSpan.FromMilliseconds(context.Settings.BatchDelayMs));

    // The options a user would write; everything not named here is the library's default.
    internal static PostgresPersistenceOptions Options(BenchDatabase database, EventTable table, BenchSettings settings, TimeSpan batchDelay) => new()
    {
        ConnectionString = database.ConnectionString,
        Schema = table.Schema,
        Table = table.Table,
        MaxBatchSize = settings.BatchSize,
        PoolSize = settings.PoolSize,
        DatabasePoolSize = Math.Max(settings.PoolSize, 10),
        BufferSize = settings.BufferSize,
        MaxBatchDelay = batchDelay,
    };

    internal static string Describe(PostgresPersistenceOptions o) =>
        $"(MaxBatchSize {o.MaxBatchSize}, PoolSize {o.PoolSize}, BufferSize {o.BufferSize}, MaxBatchDelay {o.MaxBatchDelay.TotalMilliseconds} ms, " +
        $"Overflow {o.Overflow}, DatabasePoolSize {o.DatabasePoolSize})";

    internal override async Task PrepareAsync()
    {
        _bus = new EventBus(new EventBusOptions { Topics = [Workload.Topic] });
        _consumer = new PostgresConsumer(_bus, Options(Context));
        await _consumer.StartAsync();
    }

    internal override async Task<long> RunAsync()
    {
        var bus = _bus!;
        foreach (var @event in Context.Workload.Events)
        {
            bus.Publish(@event);
        }

        return await WaitUntilPersistedAsync(bus, _consumer!, Context.Workload.Count);
    }

    protected override async ValueTask ReleaseAsync()
    {
        if (_consumer is not null)
        {
            await _consumer.DisposeAsync();
        }

        _bus?.Dispose();
    }

    // Persisted counts rows whose batch committed; the acknowledgement follows on the same writer right after,
    // and the bus drops an event once acknowledged. A 1 ms poll is noise against a run of seconds.
    internal static async Task<long> WaitUntilPersistedAsync(EventBus bus, PostgresConsumer consumer, long expected)
    {
        while (true)
        {
            var statistics = consumer.Statistics;
            if (statistics.Persisted + statistics.DeadLettered + statistics.Dropped >= expected)
            {
                break;
            }

            await Task.Delay(1);
        }

        while (bus.Diagnostics.PendingEvents != 0)
        {
            await Task.Delay(1);
        }

        return consumer.Statistics.Persisted;
    }
}
