using System.Diagnostics;
using System.Globalization;
using System.Reactive.Concurrency;
using RxEventBus.PipelineBench.Infrastructure;
using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench.Modes;

// Issue 13: what each store query costs on a table of N rows under an index layout, through the library's own
// API (EventStore, EventSubscription), one call at a time on an otherwise idle database: p50/p99 over
// --query-runs calls (fewer when a query's calls pass --query-seconds), after one untimed call. The table is
// filled with raw binary COPY (10,000 rows a transaction, as the consumer commits them; faster than the bus, and
// the rows are the same) unless --table names one already there (e.g. the sustained mode's, with --keep), then
// VACUUM ANALYZE (autovacuum is off on the harness's cluster; in production it would have run on a table this
// size). Each query's plan is shown, from EXPLAIN of the same SQL with the same values (copied from
// EventStore and PostgresLogSession: if those change, these must too).
internal static class QueryMode
{
    private const int BatchSize = 10_000;

    // The fill's topics (one in eight rows each) and events per transaction id: counts per topic and a
    // transaction's events are then real groups, not one topic and one event per transaction.
    private const int EventsPerTransaction = 4;

    private static readonly string[] Topics =
        ["orders.placed", "orders.paid", "orders.shipped", "orders.cancelled", "users.created", "users.updated", "stock.reserved", "stock.released"];

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    internal static async Task<int> RunAsync(BenchDatabase database, BenchSettings settings)
    {
        EventTable table;
        var filled = false;
        if (settings.SubscriberTable is { } existing)
        {
            var parts = existing.Split('.');
            table = new EventTable(parts[0], parts[1], settings.Design);
            Console.WriteLine($"querying the existing table {table.QualifiedName} (--table), as IndexLayout {settings.Layout}, PayloadType {settings.Payload}");
            if (await database.DataColumnTypeAsync(table) is var found && found != CopyRows.ColumnType(settings.Payload))
            {
                Console.WriteLine($"the table's data column is {found ?? "missing"}, not {CopyRows.ColumnType(settings.Payload)}: pass the --payload it was made with");
                return 1;
            }
        }
        else
        {
            table = await database.FreshTableAsync("bench_queries_" + settings.LayoutName, settings.Design);
            await FillAsync(database, table, settings.Events);
            filled = true;
        }

        var analyze = Stopwatch.StartNew();
        await database.ExecuteAsync($"VACUUM ANALYZE {table.QualifiedName}");
        var analyzed = analyze.Elapsed;
        var rows = await database.CountAsync(table);
        var indexList = await SustainedMode.IndexListAsync(database, table);
        Console.WriteLine(string.Create(Invariant, $"VACUUM ANALYZE in {analyzed.TotalSeconds:F1} s; {rows:N0} rows; indexes: {indexList}"));
        Console.WriteLine();
        await SustainedMode.PrintSizesAsync(database, table, rows);
        Console.WriteLine();

        // The arguments, chosen before any clock starts: ids and transaction ids of random rows, a recent time T
        // (the newest 1% of rows occurred at or after it), and a checkpoint 100,000 rows before the end.
        var recent = Math.Max(1, rows / 100);
        var catchUp = Math.Min(100_000, rows / 2);
        var samples = await SampleAsync(database, table, settings.QueryRuns);
        var since = await TimeAsync(database, $"SELECT occurred_at FROM {table.QualifiedName} ORDER BY occurred_at DESC OFFSET {recent - 1} LIMIT 1");
        var sinceCount = await database.LongAsync($"SELECT count(*) FROM {table.QualifiedName} WHERE occurred_at >= '{Literal(since)}'");
        var checkpoint = await CheckpointAsync(database, table, catchUp);
        Console.WriteLine(string.Create(Invariant,
            $"arguments: {samples.Count} random rows' ids and transaction ids; T = {since:O} ({sinceCount:N0} rows at or after it, the newest 1%); " +
            $"checkpoint {checkpoint} ({catchUp:N0} rows after it)"));
        Console.WriteLine();

        var store = new EventStore(database.DataSource, table, new JsonEventSerializer(), DefaultScheduler.Instance);
        var q = table.QualifiedName;
        const string columns = "id AS Id, transaction_id AS TransactionId, topic AS Topic, data AS Data, initialized_at AS InitializedAt, occurred_at AS OccurredAt, source AS Source, ttl AS Ttl";
        var s = Literal(since);
        var (id0, tx0) = samples[0];
        var queries = new List<Query>
        {
            new("FindAsync(id)", $"SELECT {columns} FROM {q} WHERE id = '{id0}'",
                async i => await store.FindAsync(samples[i % samples.Count].Id) is null ? 0 : 1, n => n == 1),
            new("FindAllByTransactionIdAsync(tx, 1, 100)",
                $"SELECT {columns} FROM {q} WHERE transaction_id = '{tx0}' ORDER BY occurred_at, id LIMIT 100 OFFSET 0",
                async i => (await store.FindAllByTransactionIdAsync(samples[i % samples.Count].TransactionId, 1, 100)).Count, n => n >= 1),
            new("CountPerTopicAsync()", $"SELECT topic AS Topic, count(*) AS Count FROM {q} GROUP BY topic ORDER BY topic COLLATE \"C\"",
                async _ => (await store.CountPerTopicAsync()).Sum(c => c.Count), n => n == rows),
            new("CountPerTopicAsync(T)",
                $"SELECT topic AS Topic, count(*) AS Count FROM {q} WHERE occurred_at >= '{s}' GROUP BY topic ORDER BY topic COLLATE \"C\"",
                async _ => (await store.CountPerTopicAsync(since)).Sum(c => c.Count), n => n == sinceCount),
            new("CountPerTopicOverTimeAsync(30 s, T, null)",
                $"SELECT floor(date_part('epoch', occurred_at) / 30)::bigint, topic, count(*) FROM {q} WHERE occurred_at IS NOT NULL AND occurred_at >= '{s}' GROUP BY 1, 2",
                async _ => (await store.CountPerTopicOverTimeAsync(TimeSpan.FromSeconds(30), since, null)).Sum(c => c.Count), n => n == sinceCount),
            new("CountPerTopicOverTimeAsync(1 h, null, null)",
                $"SELECT floor(date_part('epoch', occurred_at) / 3600)::bigint, topic, count(*) FROM {q} WHERE occurred_at IS NOT NULL GROUP BY 1, 2",
                async _ => (await store.CountPerTopicOverTimeAsync(TimeSpan.FromHours(1), null, null)).Sum(c => c.Count), n => n == rows),
            new("AllAsync(1, 100, T)", $"SELECT {columns} FROM {q} WHERE occurred_at >= '{s}' ORDER BY occurred_at, id LIMIT 100 OFFSET 0",
                async _ => (await store.AllAsync(1, 100, since)).Count, n => n == Math.Min(100, sinceCount)),
            new("CountAsync(T)", $"SELECT count(*) FROM {q} WHERE occurred_at >= '{s}'",
                async _ => await store.CountAsync(since), n => n == sinceCount),
            new("ReadAsync(Since T), first 1,000", $"SELECT {columns} FROM {q} WHERE occurred_at >= '{s}' ORDER BY occurred_at, id",
                async _ => await FirstAsync(store.ReadAsync(new EventFilter { Since = since }), 1_000), n => n == Math.Min(1_000, sinceCount)),
            new($"EventSubscription catch-up of {catchUp:N0} from a checkpoint",
                $"SELECT tx, position, id FROM {q} WHERE (tx, position) > ('{checkpoint.Transaction}'::xid8, {checkpoint.Sequence}) AND tx < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY tx, position LIMIT 1000",
                async _ => await CatchUpAsync(database, table, checkpoint, catchUp), n => n == catchUp),
        };

        var failures = new List<string>();
        Console.WriteLine("| query | runs | p50 ms | p99 ms | max ms | plan (EXPLAIN of the same SQL) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---|");
        foreach (var query in queries)
        {
            var plan = await database.PlanAsync(query.Sql);
            var first = await query.Run(0);
            if (!query.Expected(first))
            {
                failures.Add($"{query.Name}: {first:N0} (unexpected)");
            }

            var times = new List<double>();
            var budget = Stopwatch.StartNew();
            for (var i = 1; i <= settings.QueryRuns && (times.Count < 5 || budget.Elapsed.TotalSeconds < settings.QuerySeconds); i++)
            {
                var clock = Stopwatch.StartNew();
                var result = await query.Run(i);
                times.Add(clock.Elapsed.TotalMilliseconds);
                if (!query.Expected(result))
                {
                    failures.Add($"{query.Name}, run {i}: {result:N0} (unexpected)");
                }
            }

            times.Sort();
            Console.WriteLine(string.Create(Invariant,
                $"| {query.Name} | {times.Count} | {Percentile(times, 0.50):F2} | {Percentile(times, 0.99):F2} | {times[^1]:F2} | {plan} |"));
        }

        if (filled && !settings.Keep)
        {
            await database.DropAsync(table);
        }
        else if (settings.Keep)
        {
            Console.WriteLine();
            Console.WriteLine($"kept: {table.QualifiedName} (--keep)");
        }

        if (failures.Count != 0)
        {
            Console.WriteLine();
            Console.WriteLine("RESULT MISMATCH:");
            failures.ForEach(f => Console.WriteLine("  " + f));
            return 1;
        }

        Console.WriteLine();
        Console.WriteLine("results: every call returned what the table holds");
        return 0;
    }

    // Nearest rank: the smallest time with at least `p` of the runs at or below it.
    internal static double Percentile(List<double> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static async Task FillAsync(BenchDatabase database, EventTable table, int count)
    {
        Console.WriteLine($"filling {table.QualifiedName} (IndexLayout {table.Design.Indexes}, PayloadType {table.Design.Payload}) with {count:N0} events by raw binary COPY, {BatchSize:N0} a transaction …");
        var clock = Stopwatch.StartNew();
        var copy = CopyRows.CopyCommand(table);
        var dataType = CopyRows.DataType(table.Design.Payload);
        var start = DateTimeOffset.UtcNow;
        var batch = new BenchRow[BatchSize];
        var transactionId = Guid.Empty;
        for (var offset = 0; offset < count; offset += BatchSize)
        {
            var n = Math.Min(BatchSize, count - offset);
            for (var j = 0; j < n; j++)
            {
                var i = offset + j;
                var at = start.AddTicks(i * 10L);
                if (i % EventsPerTransaction == 0)
                {
                    transactionId = Guid.CreateVersion7(at);
                }

                batch[j] = Workload.Map(Workload.CreateEvent(i, at) with { Topic = Topics[i % Topics.Length], TransactionId = transactionId });
            }

            await CopyRows.CopyBatchAsync(database.DataSource, copy, dataType, new ArraySegment<BenchRow>(batch, 0, n), Values, RowWriting.Sync, CancellationToken.None);
        }

        Console.WriteLine(string.Create(Invariant, $"filled in {clock.Elapsed.TotalSeconds:F1} s ({count / clock.Elapsed.TotalSeconds:N0} rows/s; {Topics.Length} topics, {EventsPerTransaction} events per transaction id)"));
    }

    private static RowValues Values(BenchRow row) => new(row.Event, row.Data, row.InitializedAt, row.OccurredAt, row.ExpiresAt);

    private static async Task<List<(Guid Id, Guid TransactionId)>> SampleAsync(BenchDatabase database, EventTable table, int count)
    {
        var samples = new List<(Guid, Guid)>();
        await using var command = database.DataSource.CreateCommand(
            $"SELECT id, transaction_id FROM {table.QualifiedName} WHERE transaction_id IS NOT NULL ORDER BY random() LIMIT {Math.Max(1, count)}");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            samples.Add((reader.GetGuid(0), reader.GetGuid(1)));
        }

        return samples;
    }

    private static async Task<DateTimeOffset> TimeAsync(BenchDatabase database, string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        var value = (DateTime)(await command.ExecuteScalarAsync())!;
        return new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc));
    }

    private static async Task<LogPosition> CheckpointAsync(BenchDatabase database, EventTable table, long rowsAfter)
    {
        await using var command = database.DataSource.CreateCommand(
            $"SELECT tx, position FROM {table.QualifiedName} ORDER BY tx DESC, position DESC OFFSET {rowsAfter} LIMIT 1");
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? new LogPosition(reader.GetFieldValue<ulong>(0), reader.GetInt64(1)) : LogPosition.Beginning;
    }

    private static string Literal(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff+00", Invariant);

    private static async Task<long> FirstAsync(IAsyncEnumerable<Event> events, int n)
    {
        long count = 0;
        await foreach (var _ in events)
        {
            if (++count == n)
            {
                break;
            }
        }

        return count;
    }

    // An anonymous subscription from the checkpoint, read until `expected` events (or Live, if the table is short).
    private static async Task<long> CatchUpAsync(BenchDatabase database, EventTable table, LogPosition checkpoint, long expected)
    {
        await using var subscription = new EventSubscription(
            database.DataSource, table, new JsonEventSerializer(), new EventSubscriptionOptions { From = SubscriptionStart.After(checkpoint) });
        using var caughtUp = new CancellationTokenSource();
        using var watch = subscription.StateChanges.Subscribe(state =>
        {
            if (state == SubscriptionState.Live)
            {
                caughtUp.Cancel();
            }
        });
        long count = 0;
        try
        {
            await foreach (var _ in subscription.ReadAsync(caughtUp.Token))
            {
                if (++count == expected)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (caughtUp.IsCancellationRequested)
        {
            // Live before `expected`: the count says so.
        }

        return count;
    }

    private sealed record Query(string Name, string Sql, Func<int, Task<long>> Run, Func<long, bool> Expected);
}
