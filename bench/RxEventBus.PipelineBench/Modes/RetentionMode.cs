using System.Diagnostics;
using System.Globalization;
using System.Reactive.Concurrency;
using RxEventBus.PipelineBench.Infrastructure;
using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench.Modes;

// Issue 13's retention: N expired rows (plus a tenth as many live ones) removed by the library's TTL cleanup from a
// plain table (DELETE … WHERE expires_at < now, the default index layout's BRIN on expires_at) and from a table
// partitioned by expires_at (DROP of the partitions whose range has passed), while a writer keeps inserting batches
// of 5,000 live rows into the same table. Each run fills both tables the same way (server-side INSERT … SELECT, the
// expired rows spread over the 10 hours before now, one-hour partitions), then cleans each in turn, alternating which
// goes first. Reported per run: the cleanup's time, the table's size (table + indexes) before and after, the writer's
// median batch time and its longest batch that overlapped the cleanup.
internal static class RetentionMode
{
    private const int WriterBatch = 5_000;

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    internal static async Task<int> RunAsync(BenchDatabase database, BenchSettings settings)
    {
        var expired = settings.Events;
        var live = Math.Max(1, expired / 10);
        Console.WriteLine(string.Create(Invariant,
            $"retention: {expired:N0} expired + {live:N0} live rows, cleaned by DELETE (plain table) and by DROP (one-hour partitions), while a writer inserts batches of {WriterBatch:N0}; IndexLayout {settings.Layout}, PayloadType {settings.Payload}"));
        var results = new Dictionary<string, List<double>> { ["delete"] = [], ["drop"] = [] };
        for (var run = 1; run <= settings.Runs; run++)
        {
            string[] order = run % 2 == 1 ? ["delete", "drop"] : ["drop", "delete"];
            foreach (var kind in order)
            {
                var ms = await CleanAsync(database, settings.Design, kind == "drop", expired, live, run);
                if (ms < 0)
                {
                    return 1;
                }

                results[kind].Add(ms);
            }
        }

        var deleteMedian = Median(results["delete"]);
        var dropMedian = Median(results["drop"]);
        Console.WriteLine(string.Create(Invariant,
            $"median cleanup: DELETE {deleteMedian:F1} ms, DROP {dropMedian:F1} ms, DELETE ÷ DROP {deleteMedian / dropMedian:F0}×"));
        return 0;
    }

    // Returns the cleanup's time in ms, or -1 when the rows left are not the live ones.
    private static async Task<double> CleanAsync(BenchDatabase database, EventTableDesign design, bool partitioned, long expired, long live, int run)
    {
        // The cleanup's clock is the start of the current hour, and every expired row expires before it: the whole
        // N rows are in partitions whose range has passed, so DELETE and DROP remove the same rows.
        var wall = DateTimeOffset.UtcNow;
        var now = new DateTimeOffset(wall.Year, wall.Month, wall.Day, wall.Hour, 0, 0, TimeSpan.Zero);
        var schema = partitioned ? "bench_retention_drop" : "bench_retention_delete";
        await database.ExecuteAsync($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        var table = new EventTable(schema, "events", design with { PartitionInterval = partitioned ? TimeSpan.FromHours(1) : null });
        await SchemaManager.EnsureSchemaAsync(database.DataSource, table);
        if (partitioned)
        {
            // From the range 11 hours back to 2 hours ahead: every expired row is in a partition, as the library
            // would have made them hour after hour.
            await SchemaManager.CreatePartitionsAsync(database.DataSource, table, now.AddHours(-11), TimeSpan.FromHours(13));
        }

        var nowText = now.ToString("O", Invariant);
        await database.ExecuteAsync($"""
            INSERT INTO {table.QualifiedName} (id, topic, data, occurred_at, expires_at)
            SELECT gen_random_uuid(), 'bench_event', '{"{"}"n": 1{"}"}', e - interval '15 minutes', e
            FROM (SELECT '{nowText}'::timestamptz - interval '10 hours' + (i * interval '10 hours' / {expired}) AS e
                  FROM generate_series(0, {expired - 1}) i) s;
            INSERT INTO {table.QualifiedName} (id, topic, data, occurred_at, expires_at)
            SELECT gen_random_uuid(), 'bench_event', '{"{"}"n": 1{"}"}', '{nowText}'::timestamptz, '{nowText}'::timestamptz + interval '90 minutes'
            FROM generate_series(1, {live});
            """);
        await database.ExecuteAsync($"VACUUM ANALYZE {table.QualifiedName}");
        await database.ExecuteAsync("CHECKPOINT");
        var sizeBefore = await SizeAsync(database, table);

        // The writer: batches of live rows, each its own transaction, timed.
        using var stop = new CancellationTokenSource();
        var batches = new List<(long Start, long End)>();
        var writer = Task.Run(async () =>
        {
            await using var command = database.DataSource.CreateCommand($"""
                INSERT INTO {table.QualifiedName} (id, topic, data, occurred_at, expires_at)
                SELECT gen_random_uuid(), 'bench_event', '{"{"}"n": 2{"}"}', now(), now() + interval '1 hour' FROM generate_series(1, {WriterBatch})
                """);
            while (!stop.IsCancellationRequested)
            {
                var start = Stopwatch.GetTimestamp();
                await command.ExecuteNonQueryAsync(CancellationToken.None);
                lock (batches)
                {
                    batches.Add((start, Stopwatch.GetTimestamp()));
                }
            }
        });

        // Two seconds of writing alone, the cleanup, one more second.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var store = new EventStore(database.DataSource, table, new JsonEventSerializer(), new FixedClock(now));
        var cleanStart = Stopwatch.GetTimestamp();
        var deleted = await store.DeleteExpiredAsync(spareUnreadEvents: true);
        var cleanEnd = Stopwatch.GetTimestamp();
        await Task.Delay(TimeSpan.FromSeconds(1));
        await stop.CancelAsync();
        await writer;

        var left = await database.CountAsync(table);
        var written = batches.Count * (long)WriterBatch;
        var sizeAfter = await SizeAsync(database, table);
        var cleanupMs = Stopwatch.GetElapsedTime(cleanStart, cleanEnd).TotalMilliseconds;
        var durations = batches.Select(b => Stopwatch.GetElapsedTime(b.Start, b.End).TotalMilliseconds).ToList();
        var overlapping = batches.Where(b => b.Start < cleanEnd && b.End > cleanStart)
            .Select(b => Stopwatch.GetElapsedTime(b.Start, b.End).TotalMilliseconds).DefaultIfEmpty(0).Max();
        Console.WriteLine(string.Create(Invariant,
            $"run {run} {(partitioned ? "DROP  " : "DELETE")}: cleanup {cleanupMs,8:F1} ms ({(partitioned ? $"{expired:N0} rows in dropped partitions, " : "")}{deleted:N0} deleted row by row); " +
            $"size {sizeBefore / 1048576.0:F0} MB → {sizeAfter / 1048576.0:F0} MB; writer batch median {Median(durations):F1} ms, longest during the cleanup {overlapping:F1} ms"));
        await database.ExecuteAsync($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        if (left != live + written)
        {
            Console.Error.WriteLine($"rows left: {left:N0}, expected the {live:N0} live rows and the writer's {written:N0}");
            return -1;
        }

        return cleanupMs;
    }

    private static async Task<long> SizeAsync(BenchDatabase database, EventTable table) =>
        long.Parse(await database.ScalarAsync($"""
            SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
            WHERE c.oid = to_regclass('{table.QualifiedName}') OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass('{table.QualifiedName}'))
            """), Invariant);

    private static double Median(List<double> values)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    // The store's clock: "now" for the cleanup is the moment the rows were made relative to.
    private sealed class FixedClock(DateTimeOffset now) : LocalScheduler
    {
        public override DateTimeOffset Now => now;

        public override IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action) =>
            throw new NotSupportedException("The retention mode's store only reads the clock.");
    }
}
