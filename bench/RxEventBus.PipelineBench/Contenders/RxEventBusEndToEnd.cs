using RxEventBus.PipelineBench.Infrastructure;
using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench.Contenders;

// (d) RxEventBus as a user runs it: a bus, `new PostgresConsumer(bus, options)`, StartAsync, then Publish
// each event on this thread. Timed from the first Publish until the consumer has committed every row and
// the bus holds no pending event (each was acknowledged after its commit).
//
// "d-pre12" is (d) as it wrote before issue 12: into the table of then (PreIssue12Table: no tx, no position, no
// (tx, position) index), without the per-batch NOTIFY. Today's consumer refuses to start on that table (its
// schema check asks for tx and position, EnsureSchema on or off), so it is started with EnsureSchema off on
// today's table, which passes the check, and the table is then replaced by the old one before the clock
// starts: the COPY names its columns, so the writer is exactly today's, into yesterday's table.
//
// "d-noindex" is (d) into today's table without its (tx, position) index (dropped after the start, as above): with
// d-pre12 and d it splits the writer's cost between the index and the two columns' defaults.
//
// "d@seqcache=N" is (d) with the position sequence's CACHE set to N after the start (seqcache=1: uncached, as
// the sequence was first created); the run reads the cache back from pg_sequence and names it in the description.
internal sealed class RxEventBusEndToEnd(ContenderContext context, bool preIssue12 = false, bool withoutPositionIndex = false) : Contender(context)
{
    private EventBus? _bus;
    private PostgresConsumer? _consumer;

    internal override string Key => preIssue12 ? "d-pre12" : withoutPositionIndex ? "d-noindex" : "d";

    private string _sequenceCache = "";

    internal override string Description => preIssue12
        ? "(d) into the table as before issue 12 (no tx/position, no (tx, position) index), NotifyOnCommit false " + Describe(ContenderOptions())
        : withoutPositionIndex
        ? "(d) into today's table without its (tx, position) index: diagnostic " + Describe(ContenderOptions()) + _sequenceCache
        : "RxEventBus: Publish → PostgresConsumer " + Describe(ContenderOptions()) + _sequenceCache;

    internal PostgresConsumer Consumer => _consumer!;

    internal static PostgresPersistenceOptions Options(ContenderContext context) =>
        Options(context.Database, context.Table, context.Settings, TimeSpan.FromMilliseconds(context.Settings.BatchDelayMs));

    // The options a user would write; everything not named here is the library's default.
    internal static PostgresPersistenceOptions Options(BenchDatabase database, EventTable table, BenchSettings settings, TimeSpan batchDelay) => new()
    {
        ConnectionString = database.ConnectionString,
        Schema = table.Schema,
        Table = table.Table,
        IndexLayout = table.Design.Indexes,
        PayloadType = table.Design.Payload,
        MaxBatchSize = settings.BatchSize,
        PoolSize = settings.PoolSize,
        DatabasePoolSize = Math.Max(settings.PoolSize, 10),
        BufferSize = settings.BufferSize,
        MaxBatchDelay = batchDelay,
        NotifyOnCommit = settings.Notify,
    };

    internal static string Describe(PostgresPersistenceOptions o) =>
        $"(MaxBatchSize {o.MaxBatchSize}, PoolSize {o.PoolSize}, BufferSize {o.BufferSize}, MaxBatchDelay {o.MaxBatchDelay.TotalMilliseconds} ms, " +
        $"Overflow {o.Overflow}, DatabasePoolSize {o.DatabasePoolSize}, NotifyOnCommit {o.NotifyOnCommit})";

    private PostgresPersistenceOptions ContenderOptions()
    {
        var options = Options(Context);
        if (preIssue12)
        {
            options.EnsureSchema = false;
            options.NotifyOnCommit = false;
        }

        return options;
    }

    internal override async Task PrepareAsync()
    {
        _bus = new EventBus(new EventBusOptions { Topics = [Workload.Topic] });
        _consumer = new PostgresConsumer(_bus, ContenderOptions());
        await _consumer.StartAsync();
        if (preIssue12)
        {
            await Context.Database.DropAsync(Context.Table);
            await Context.Database.ExecuteAsync(PreIssue12Table.CreateScript(Context.Table));
            await Context.Database.ExecuteAsync("CHECKPOINT");
            var positionColumns = await Context.Database.ScalarAsync(
                $"SELECT count(*) FROM pg_attribute WHERE attrelid = '{Context.Table.QualifiedName}'::regclass AND attname IN ('tx', 'position') AND NOT attisdropped");
            if (positionColumns != "0")
            {
                throw new InvalidOperationException($"d-pre12's table {Context.Table} has tx or position: it is not the table of before issue 12.");
            }
        }

        if (withoutPositionIndex)
        {
            await Context.Database.ExecuteAsync($"DROP INDEX \"{Context.Table.Schema}\".\"{Context.Table.Table}_tx_position_idx\"");
        }

        if (!preIssue12)
        {
            var sequence = $"\"{Context.Table.Schema}\".\"{Context.Table.PositionSequence}\"";
            if (Context.Settings.SequenceCache is { } cache)
            {
                await Context.Database.ExecuteAsync($"ALTER SEQUENCE {sequence} CACHE {cache}");
            }

            _sequenceCache = ", position sequence CACHE " +
                await Context.Database.ScalarAsync($"SELECT seqcache FROM pg_sequence WHERE seqrelid = '{sequence}'::regclass");
        }
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
