using System.Diagnostics;
using System.Globalization;
using RxEventBus.PipelineBench.Contenders;
using RxEventBus.PipelineBench.Infrastructure;
using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench.Modes;

// Issue 13: does the write rate hold as the table grows? (d) as a user runs it — a bus, a PostgresConsumer,
// Publish of each event — writes N events into ONE fresh table of --layout (not a table per run as the
// throughput mode does). Events are made on the fly (N may be 10M: the harness holds none of them), and a
// sampler notes the time, this process's CPU and the server's CPU each time the committed count passes a
// slice (--slice, 1M by default), so every slice's rows/s and CPU per row come from the same run. At the end:
// table and index sizes per row, WAL per row, and the checkpoints that fell inside the run.
internal static class SustainedMode
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    internal static async Task<int> RunAsync(BenchDatabase database, BenchSettings settings)
    {
        var count = (long)settings.Events;
        var slice = Math.Min(settings.Slice, settings.Events);
        var table = await database.FreshTableAsync("bench_sustained_" + settings.LayoutName, settings.Design);
        var options = RxEventBusEndToEnd.Options(database, table, settings, TimeSpan.FromMilliseconds(settings.BatchDelayMs));
        Console.WriteLine($"table {table.QualifiedName}: IndexLayout {settings.Layout}, PayloadType {settings.Payload}");
        Console.WriteLine($"writing {count:N0} events with the consumer {RxEventBusEndToEnd.Describe(options)}, slices of {slice:N0} …");
        Console.WriteLine();

        var walStart = await database.ScalarAsync("SELECT pg_current_wal_lsn()");
        var checkpointsStart = await database.LongAsync("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter");
        var marks = new List<Mark>();
        long persisted;
        var clock = new Stopwatch();
        using (var bus = new EventBus(new EventBusOptions { Topics = [Workload.Topic] }))
        {
            await using var consumer = new PostgresConsumer(bus, options);
            await consumer.StartAsync();
            using var stop = new CancellationTokenSource();
            marks.Add(Mark.Take(0, TimeSpan.Zero, database.ServerPid));
            clock.Start();
            var sampler = Task.Run(() => SampleAsync(consumer, database.ServerPid, clock, slice, count, marks, stop.Token));
            var start = DateTimeOffset.UtcNow;
            for (long i = 0; i < count; i++)
            {
                bus.Publish(Workload.CreateEvent(i, start.AddTicks(i * 10L)));
            }

            persisted = await RxEventBusEndToEnd.WaitUntilPersistedAsync(bus, consumer, count);
            clock.Stop();
            await stop.CancelAsync();
            await sampler;
            if (marks[^1].Rows != persisted)
            {
                marks.Add(Mark.Take(persisted, clock.Elapsed, database.ServerPid));
            }
        }

        var checkpoints = await database.LongAsync("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter") - checkpointsStart;
        var walBytes = await database.LongAsync($"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{walStart}')");
        var stored = await database.CountAsync(table);
        var maxWalSize = await database.ScalarAsync("SHOW max_wal_size");

        // Read after the consumer ran: it creates or completes the table's indexes for the layout it is told.
        var indexList = await IndexListAsync(database, table);

        Console.WriteLine("| slice | rows (end) | seconds | rows/s | client CPU µs/row | server CPU µs/row |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
        for (var k = 1; k < marks.Count; k++)
        {
            var (from, to) = (marks[k - 1], marks[k]);
            var rows = to.Rows - from.Rows;
            var seconds = (to.Elapsed - from.Elapsed).TotalSeconds;
            Console.WriteLine(string.Create(Invariant,
                $"| {k} | {to.Rows:N0} | {seconds:F2} | {rows / seconds:N0} | {(to.ClientCpu - from.ClientCpu) * 1e6 / rows:F2} | {(to.ServerCpu - from.ServerCpu) * 1e6 / rows:F2} |"));
        }

        var (first, last) = (Rate(marks, 1), Rate(marks, marks.Count - 1));
        Console.WriteLine();
        Console.WriteLine(string.Create(Invariant,
            $"overall: {persisted:N0} rows in {clock.Elapsed.TotalSeconds:F1} s = {persisted / clock.Elapsed.TotalSeconds:N0} rows/s; " +
            $"client CPU {(marks[^1].ClientCpu - marks[0].ClientCpu) * 1e6 / persisted:F2} µs/row, server CPU {(marks[^1].ServerCpu - marks[0].ServerCpu) * 1e6 / persisted:F2} µs/row"));
        Console.WriteLine(string.Create(Invariant,
            $"first slice {first:N0} rows/s, last slice {last:N0} rows/s: last ÷ first {last / first:F2}"));
        Console.WriteLine(string.Create(Invariant,
            $"WAL {walBytes / (double)persisted:F0} bytes/row; {checkpoints} checkpoint(s) during the run (max_wal_size {maxWalSize})"));
        Console.WriteLine($"indexes at the end: {indexList}");
        Console.WriteLine();
        await PrintSizesAsync(database, table, stored);

        var exitCode = 0;
        if (stored != count || persisted != count)
        {
            Console.WriteLine();
            Console.WriteLine($"ROW COUNT MISMATCH: {stored:N0} rows stored, {persisted:N0} persisted (expected {count:N0})");
            exitCode = 1;
        }
        else
        {
            Console.WriteLine();
            Console.WriteLine($"row count: exactly {count:N0} rows stored");
        }

        if (settings.Keep)
        {
            Console.WriteLine($"kept: {table.QualifiedName} (--keep); the queries mode reads it with --table {table.Schema}.{table.Table} --layout {settings.LayoutName}");
        }
        else
        {
            await database.DropAsync(table);
        }

        return exitCode;
    }

    // The table, its indexes and the two together, in bytes per row, and each index on its own.
    internal static async Task PrintSizesAsync(BenchDatabase database, EventTable table, long rows)
    {
        var name = table.QualifiedName.Replace("'", "''", StringComparison.Ordinal);
        var heap = await database.LongAsync($"SELECT pg_table_size('{name}')");
        var indexes = await database.LongAsync($"SELECT pg_indexes_size('{name}')");
        var total = await database.LongAsync($"SELECT pg_total_relation_size('{name}')");
        var perRow = (long bytes) => rows == 0 ? "n/a" : (bytes / (double)rows).ToString("F1", Invariant);
        Console.WriteLine("| relation | MB | bytes/row |");
        Console.WriteLine("|---|---:|---:|");
        Console.WriteLine(string.Create(Invariant, $"| table (pg_table_size: heap, TOAST, FSM, VM) | {heap / 1048576.0:F1} | {perRow(heap)} |"));
        await using (var command = database.DataSource.CreateCommand(
            $"SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index WHERE indrelid = '{name}'::regclass ORDER BY 1"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var size = reader.GetInt64(1);
                Console.WriteLine(string.Create(Invariant, $"| index {reader.GetString(0)} | {size / 1048576.0:F1} | {perRow(size)} |"));
            }
        }

        Console.WriteLine(string.Create(Invariant, $"| all indexes (pg_indexes_size) | {indexes / 1048576.0:F1} | {perRow(indexes)} |"));
        Console.WriteLine(string.Create(Invariant, $"| total (pg_total_relation_size) | {total / 1048576.0:F1} | {perRow(total)} |"));
    }

    internal static async Task<string> IndexListAsync(BenchDatabase database, EventTable table)
    {
        var name = table.QualifiedName.Replace("'", "''", StringComparison.Ordinal);
        return await database.ScalarAsync(
            $"SELECT string_agg(regexp_replace(indexdef, '^CREATE (UNIQUE )?INDEX (\\S+) ON \\S+ ', '\\2 '), '; ' ORDER BY indexname) " +
            $"FROM pg_indexes WHERE schemaname = '{table.Schema}' AND tablename = '{table.Table}'");
    }

    private static double Rate(List<Mark> marks, int k) =>
        (marks[k].Rows - marks[k - 1].Rows) / (marks[k].Elapsed - marks[k - 1].Elapsed).TotalSeconds;

    // Polls the committed count every millisecond; each time it passes the next multiple of `slice`, notes the
    // count reached (batches commit 10,000 rows at once, so a mark may lie past the multiple) with its time and CPU.
    private static async Task SampleAsync(
        PostgresConsumer consumer, int? serverPid, Stopwatch clock, long slice, long count, List<Mark> marks, CancellationToken stop)
    {
        var next = slice;
        while (!stop.IsCancellationRequested && next <= count)
        {
            var persisted = consumer.Statistics.Persisted;
            if (persisted >= next)
            {
                var mark = Mark.Take(persisted, clock.Elapsed, serverPid);
                lock (marks)
                {
                    marks.Add(mark);
                }

                next = (persisted / slice + 1) * slice;
                continue;
            }

            try
            {
                await Task.Delay(1, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private sealed record Mark(long Rows, TimeSpan Elapsed, double ClientCpu, double ServerCpu)
    {
        internal static Mark Take(long rows, TimeSpan elapsed, int? serverPid) =>
            new(rows, elapsed, Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, ResourceMeter.ServerCpuSeconds(serverPid));
    }
}
