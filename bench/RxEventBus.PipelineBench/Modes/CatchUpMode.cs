using System.Globalization;
using RxEventBus.PipelineBench.Contenders;
using RxEventBus.PipelineBench.Infrastructure;
using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench.Modes;

// Issue 12's catch-up rate: N events written once by the real consumer (so tx and position are what the
// schema manager's defaults make: one tx per batch, positions from the sequence), the table vacuumed so that
// no reader pays for setting hint bits, then the readers take turns reading all of it, R times: the raw
// ordered SELECT (the baseline) and EventSubscription from Beginning, plus any diagnostic variants. Each run
// reports events/s per reader and the ratio of each subscription reader to raw within that run.
internal static class CatchUpMode
{
    private const long WarmUpEvents = 200_000;

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    internal static async Task<int> RunAsync(BenchDatabase database, BenchSettings settings)
    {
        var table = await database.FreshTableAsync("bench_catchup", settings.Design);
        var count = settings.Events;
        var options = RxEventBusEndToEnd.Options(database, table, settings, TimeSpan.FromMilliseconds(settings.BatchDelayMs));
        Console.WriteLine($"writing {count:N0} events with the consumer {RxEventBusEndToEnd.Describe(options)} …");
        var writing = System.Diagnostics.Stopwatch.StartNew();
        using (var bus = new EventBus(new EventBusOptions { Topics = [Workload.Topic] }))
        {
            await using var consumer = new PostgresConsumer(bus, options);
            await consumer.StartAsync();
            var start = DateTimeOffset.UtcNow;
            for (long i = 0; i < count; i++)
            {
                bus.Publish(Workload.CreateEvent(i, start.AddTicks(i * 10L)));
            }

            await RxEventBusEndToEnd.WaitUntilPersistedAsync(bus, consumer, count);
        }

        var stored = await database.CountAsync(table);
        await database.ExecuteAsync($"VACUUM ANALYZE {table.QualifiedName}");
        var lastId = await database.ScalarAsync($"SELECT id FROM {table.QualifiedName} ORDER BY tx DESC, position DESC LIMIT 1");
        var transactions = await database.ScalarAsync($"SELECT count(DISTINCT tx) FROM {table.QualifiedName}");
        var tableSize = await database.ScalarAsync($"SELECT pg_size_pretty(pg_table_size('{table.QualifiedName}'))");
        var indexSize = await database.ScalarAsync($"SELECT pg_size_pretty(pg_relation_size('\"{table.Schema}\".\"{table.Table}_tx_position_idx\"'))");
        var dataType = await database.DataColumnTypeAsync(table);
        Console.WriteLine(string.Create(Invariant,
            $"written in {writing.Elapsed.TotalSeconds:F1} s, then VACUUM ANALYZE: {stored:N0} rows, {transactions} transactions, table {tableSize}, (tx, position) index {indexSize}, data column {dataType}"));
        Console.WriteLine($"raw query plan: {await PlanAsync(database, LogReaders.RawQuery(table))}");

        // Untimed, once per reader: the JIT's first tiers and the first connections are not what is measured.
        var warmUpCount = Math.Min(stored, WarmUpEvents);
        foreach (var key in settings.Readers)
        {
            var (kind, overrides) = BenchSettings.SplitContender(key);
            _ = await LogReaders.ReadAsync(kind, database.DataSource, table, warmUpCount, settings.With(overrides).PageSize, warmUp: true);
        }

        Console.WriteLine($"each reader read {warmUpCount:N0} events once, untimed, before the runs (warm-up)");
        Console.WriteLine();
        var readers = settings.Readers;
        var results = readers.ToDictionary(k => k, _ => new List<Measurement>());
        var failures = new List<string>();
        Console.WriteLine("| run | reader | events | seconds | events/s | ÷ raw (this run) | alloc B/event | gen0/1/2 | GC pause ms | client CPU s | server CPU s |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|");
        for (var run = 1; run <= settings.Runs; run++)
        {
            foreach (var key in readers)
            {
                var (kind, overrides) = BenchSettings.SplitContender(key);
                var pageSize = settings.With(overrides).PageSize;
                Measurement measurement;
                (long Count, Guid Last) read;
                using (var meter = ResourceMeter.Start(database.ServerPid))
                {
                    read = await LogReaders.ReadAsync(kind, database.DataSource, table, count, pageSize);
                    measurement = meter.Stop(read.Count);
                }

                if (read.Count != stored || !string.Equals(read.Last.ToString(), lastId, StringComparison.Ordinal))
                {
                    failures.Add($"run {run}, {key}: {read.Count:N0} events read (table: {stored:N0}), last id {read.Last} (table's last in (tx, position) order: {lastId})");
                }

                results[key].Add(measurement);
                var ratio = results.TryGetValue("raw", out var raw) && raw.Count == run ? measurement.RowsPerSecond / raw[^1].RowsPerSecond : double.NaN;
                Console.WriteLine(string.Create(Invariant,
                    $"| {run} | {key} | {read.Count:N0} | {measurement.Elapsed.TotalSeconds:F2} | {measurement.RowsPerSecond:N0} | {(double.IsNaN(ratio) ? "" : ratio.ToString("F2", Invariant))} | " +
                    $"{measurement.AllocatedPerRow:F0} | {measurement.Gen0}/{measurement.Gen1}/{measurement.Gen2} | {measurement.GcPause.TotalMilliseconds:F0} | " +
                    $"{measurement.ClientCpuSeconds:F2} | {measurement.ServerCpuSeconds:F2} |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine($"## Medians of {settings.Runs} run(s), {count:N0} events");
        Console.WriteLine();
        Console.WriteLine("| reader | events/s | ÷ raw, median of the runs' ratios | client CPU µs/event | server CPU µs/event | alloc B/event | what |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---|");
        foreach (var (key, runs) in results)
        {
            var (kind, overrides) = BenchSettings.SplitContender(key);
            var ratio = results.TryGetValue("raw", out var raw) ? ThroughputMode.Median(runs.Select((m, i) => m.RowsPerSecond / raw[i].RowsPerSecond)) : double.NaN;
            Console.WriteLine(string.Create(Invariant,
                $"| {key} | {ThroughputMode.Median(runs.Select(m => m.RowsPerSecond)):N0} | {(double.IsNaN(ratio) ? "" : ratio.ToString("F2", Invariant))} | " +
                $"{ThroughputMode.Median(runs.Select(m => m.ClientCpuSeconds * 1e6 / count)):F2} | {ThroughputMode.Median(runs.Select(m => m.ServerCpuSeconds * 1e6 / count)):F2} | " +
                $"{ThroughputMode.Median(runs.Select(m => m.AllocatedPerRow)):F0} | {LogReaders.Describe(kind, settings.With(overrides).PageSize)} |"));
        }

        if (results.TryGetValue("raw", out var rawRuns) && results.TryGetValue("sub", out var subRuns))
        {
            var median = ThroughputMode.Median(subRuns.Select((m, i) => m.RowsPerSecond / rawRuns[i].RowsPerSecond));
            Console.WriteLine();
            Console.WriteLine(string.Create(Invariant, $"target sub ≥ 0.8 × raw: {median:F2} ({(median >= 0.8 ? "pass" : "FAIL")})"));
        }

        await database.DropAsync(table);
        if (failures.Count != 0)
        {
            Console.WriteLine();
            Console.WriteLine("COUNT MISMATCH:");
            failures.ForEach(f => Console.WriteLine("  " + f));
            return 1;
        }

        Console.WriteLine();
        Console.WriteLine($"counts: every reader read exactly {stored:N0} events, ending with the table's last row, in every run");
        return 0;
    }

    private static async Task<string> PlanAsync(BenchDatabase database, string query)
    {
        var lines = new List<string>();
        await using var command = database.DataSource.CreateCommand("EXPLAIN " + query);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetString(0).Trim());
        }

        return string.Join(" / ", lines);
    }
}
