using System.Globalization;
using RxEventBus.PipelineBench.Contenders;
using RxEventBus.PipelineBench.Infrastructure;

namespace RxEventBus.PipelineBench.Modes;

// The issue's main measurement: every contender, one after the other, on the same pre-generated events,
// each into a fresh empty table, R times; per-run figures, medians, the ratios d/a, d/b, d/c against their
// targets, and each contender's row count checked.
internal static class ThroughputMode
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    internal static async Task<int> RunAsync(BenchDatabase database, BenchSettings settings)
    {
        Console.WriteLine($"generating {settings.Events:N0} events …");
        var workload = Workload.Generate(settings.Events);
        Console.WriteLine($"payload: {workload.MeanPayloadBytes:F1} bytes of JSON on average, e.g. {System.Text.Encoding.UTF8.GetString(workload.Rows[0].Data)}");
        Console.WriteLine($"our table: IndexLayout {settings.Layout}, PayloadType {settings.Payload} (a-seed has a table of its own, data bytea; d-pre12's is the table of before issue 12 with this data type)");
        Console.WriteLine();

        var results = settings.Contenders.ToDictionary(k => k, _ => new List<Measurement>());
        var descriptions = new Dictionary<string, string>();
        var failures = new List<string>();
        var notes = new List<string>();
        Console.WriteLine("| run | contender | rows | seconds | rows/s | alloc B/row | gen0/1/2 | GC pause ms | client CPU s | server CPU s | peak WS MB (Δ) |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---|---:|---:|---:|");
        for (var run = 1; run <= settings.Runs; run++)
        {
            // ABBA: with --order alternate every second run takes the contenders in reverse, so that neither side
            // always follows the other (its table's checkpoint, the page cache it leaves, a warmer JIT).
            var order = settings.AlternateOrder && run % 2 == 0 ? settings.Contenders.Reverse() : settings.Contenders;
            foreach (var key in order)
            {
                var (kind, overrides) = BenchSettings.SplitContender(key);
                var table = await database.FreshTableAsync("bench_" + new string(key.Select(ch => char.IsAsciiLetterOrDigit(ch) ? ch : '_').ToArray()), settings.Design);
                var context = new ContenderContext(database, table, workload, settings.With(overrides));
                var contender = Create(kind, context);
                await contender.PrepareTableAsync();
                Measurement measurement;
                long seen;
                await using (contender)
                {
                    await contender.PrepareAsync();
                    using var meter = ResourceMeter.Start(database.ServerPid);
                    seen = await contender.RunAsync();
                    measurement = meter.Stop(seen);
                }

                // After the preparation, which may read back what it set (d@seqcache=N: the sequence's cache).
                descriptions[key] = contender.Description;
                if (contender.Note is { } note)
                {
                    notes.Add($"run {run}, {note}");
                }

                var stored = await database.CountAsync(table);
                var expected = contender.WritesRows ? workload.Count : 0;
                if (stored != expected || seen != workload.Count)
                {
                    failures.Add($"run {run}, {key}: {stored:N0} rows stored (expected {expected:N0}), {seen:N0} events seen through (expected {workload.Count:N0})");
                }

                if (contender.WritesRows && await database.CheckDataAsync(table, contender.DataColumnType, workload.Rows[0]) is { } wrongData)
                {
                    failures.Add($"run {run}, {key}: {wrongData}");
                }

                await database.DropAsync(table);
                results[key].Add(measurement);
                Console.WriteLine(string.Create(Invariant,
                    $"| {run} | {key} | {stored:N0} | {measurement.Elapsed.TotalSeconds:F2} | {measurement.RowsPerSecond:N0} | {measurement.AllocatedPerRow:F0} | " +
                    $"{measurement.Gen0}/{measurement.Gen1}/{measurement.Gen2} | {measurement.GcPause.TotalMilliseconds:F0} | {measurement.ClientCpuSeconds:F2} | {measurement.ServerCpuSeconds:F2} | " +
                    $"{measurement.PeakWorkingSetMegabytes:F0} (+{measurement.WorkingSetGrowthMegabytes:F0}) |"));
            }
        }

        if (notes.Count != 0)
        {
            Console.WriteLine();
            notes.ForEach(Console.WriteLine);
        }

        Console.WriteLine();
        Console.WriteLine($"## Medians of {settings.Runs} run(s), {settings.Events:N0} events");
        Console.WriteLine();
        Console.WriteLine("| contender | rows/s | alloc B/row | client CPU µs/row | server CPU µs/row | peak WS MB (Δ) | what |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---|");
        var medians = new Dictionary<string, double>();
        foreach (var (key, runs) in results)
        {
            medians[key] = Median(runs.Select(m => m.RowsPerSecond));
            Console.WriteLine(string.Create(Invariant,
                $"| {key} | {medians[key]:N0} | {Median(runs.Select(m => m.AllocatedPerRow)):F0} | " +
                $"{Median(runs.Select(m => m.ClientCpuSeconds * 1e6 / settings.Events)):F2} | {Median(runs.Select(m => m.ServerCpuSeconds * 1e6 / settings.Events)):F2} | " +
                $"{Median(runs.Select(m => m.PeakWorkingSetMegabytes)):F0} (+{Median(runs.Select(m => m.WorkingSetGrowthMegabytes)):F0}) | {descriptions[key]} |"));
        }

        PrintRatios(medians);
        PrintWriterCost(results);
        if (failures.Count != 0)
        {
            Console.WriteLine();
            Console.WriteLine("ROW COUNT OR DATA MISMATCH:");
            failures.ForEach(f => Console.WriteLine("  " + f));
            return 1;
        }

        Console.WriteLine();
        Console.WriteLine($"row counts: every contender stored exactly {workload.Count:N0} rows in every run");
        Console.WriteLine($"data column: {settings.PayloadName} in every writing contender's table (a-seed: bytea), the first event's payload stored as given");
        return 0;
    }

    private static void PrintRatios(Dictionary<string, double> medians)
    {
        // The issue's targets for (d), and the same for every prototype that writes rows: what (d) would score
        // with that change. d/a-seed is issue 13's: (d) against raw COPY into the seed's own table.
        (string To, double Target)[] targets = [("a", 0.90), ("a-seed", 0.90), ("b", 4.0), ("c", 1.0)];
        var subjects = medians.Keys.Where(k => k == "d" || (k.StartsWith("p-", StringComparison.Ordinal) && !k.StartsWith("p-nodb", StringComparison.Ordinal)));
        var shown = subjects.SelectMany(of => targets.Select(t => (Of: of, t.To, t.Target)))
            .Where(t => medians.ContainsKey(t.To)).ToList();
        if (shown.Count == 0)
        {
            return;
        }

        Console.WriteLine();
        Console.WriteLine("| ratio | median | target | |");
        Console.WriteLine("|---|---:|---:|---|");
        foreach (var (of, to, target) in shown)
        {
            var ratio = medians[of] / medians[to];
            Console.WriteLine(double.IsNaN(target)
                ? string.Create(Invariant, $"| {of}/{to} | {ratio:F2} | — | |")
                : string.Create(Invariant, $"| {of}/{to} | {ratio:F2} | ≥ {target:F2} | {(ratio >= target ? "pass" : "FAIL")} |"));
        }
    }

    // Issue 12's writer cost: each other (d) configuration against d-pre12 (the table and writer of before issue
    // 12), run by run — the two took turns within the run, so each ratio shares that run's load — and the
    // median of those ratios, which a shared machine's drift between runs moves far less than a ratio of medians.
    private static void PrintWriterCost(Dictionary<string, List<Measurement>> results)
    {
        if (!results.TryGetValue("d-pre12", out var baseline))
        {
            return;
        }

        var others = results.Keys.Where(k => BenchSettings.SplitContender(k).Key is "d" or "d-noindex").ToList();
        if (others.Count == 0)
        {
            return;
        }

        Console.WriteLine();
        Console.WriteLine("What the position and the notifications cost the writer: rows/s of each against d-pre12, per run (≥ 0.95 is the target: ≤ 5% slower)");
        Console.WriteLine();
        Console.WriteLine("| contender | rows/s ÷ d-pre12's, per run | median of the runs' ratios | client CPU ÷ d-pre12's, median | server CPU ÷ d-pre12's, median | target ≥ 0.95 |");
        Console.WriteLine("|---|---|---:|---:|---:|---|");
        foreach (var key in others)
        {
            var runs = results[key];
            var ratios = runs.Select((m, i) => m.RowsPerSecond / baseline[i].RowsPerSecond).ToList();
            var median = Median(ratios);
            Console.WriteLine(string.Create(Invariant,
                $"| {key} | {string.Join(", ", ratios.Select(r => r.ToString("F3", Invariant)))} | {median:F3} | " +
                $"{Median(runs.Select((m, i) => m.ClientCpuSeconds / baseline[i].ClientCpuSeconds)):F3} | " +
                $"{Median(runs.Select((m, i) => m.ServerCpuSeconds / baseline[i].ServerCpuSeconds)):F3} | {(median >= 0.95 ? "pass" : "FAIL")} |"));
        }
    }

    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static Contender Create(string key, ContenderContext context) => key switch
    {
        "a" => new RawCopy(context, RowWriting.Sync),
        "a-async" => new RawCopy(context, RowWriting.Async),
        "a-pk" => new RawCopy(context, RowWriting.Sync, primaryKeyOnly: true),
        "a-seed" => new SeedLayoutCopy(context),
        "b" => new MultiRowInsert(context),
        "c" => new DataflowPipeline(context),
        "d" => new RxEventBusEndToEnd(context),
        "d-pre12" => new RxEventBusEndToEnd(context, preIssue12: true),
        "d-noindex" => new RxEventBusEndToEnd(context, withoutPositionIndex: true),
        _ when key.StartsWith("p-", StringComparison.Ordinal) => LibraryPipelinePrototype.Parse(context, key),
        "bus" => new BusOnly(context),
        _ => throw new ArgumentException($"Unknown contender '{key}': {string.Join(", ", BenchSettings.KnownContenders)}."),
    };
}
