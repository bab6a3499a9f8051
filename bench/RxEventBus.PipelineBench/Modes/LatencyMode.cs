using System.Diagnostics;
using System.Globalization;
using RxEventBus.PipelineBench.Contenders;
using RxEventBus.PipelineBench.Infrastructure;
using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench.Modes;

// Latency at a steady rate: (d) with a short MaxBatchDelay, events published on a 1 ms PeriodicTimer (this is
// a harness: real time is what it measures), each event's Publish time recorded here and its commit time
// read back from PostgreSQL — pg_xact_commit_timestamp(xmin) with track_commit_timestamp on (the embedded
// cluster turns it on), else a clock_timestamp() default column. Both clocks are this machine's.
internal static class LatencyMode
{
    private const int WarmUpEvents = 1_000;

    internal static async Task<int> RunAsync(BenchDatabase database, BenchSettings settings)
    {
        var table = await database.FreshTableAsync("bench_latency", settings.Design);
        var commitTimestamps = await database.ScalarAsync("SHOW track_commit_timestamp") == "on";
        if (!commitTimestamps)
        {
            await database.ExecuteAsync($"ALTER TABLE {table.QualifiedName} ADD COLUMN bench_written_at timestamptz NOT NULL DEFAULT clock_timestamp()");
        }

        var count = settings.Rate * settings.Seconds;
        var ids = new Dictionary<Guid, int>(count);
        var published = new DateTime[count];
        var options = RxEventBusEndToEnd.Options(database, table, settings, TimeSpan.FromMilliseconds(settings.LatencyDelayMs));
        Console.WriteLine($"publishing {count:N0} events at {settings.Rate:N0}/s for {settings.Seconds} s; options {RxEventBusEndToEnd.Describe(options)}");
        Console.WriteLine($"commit time from {(commitTimestamps ? "pg_xact_commit_timestamp(xmin)" : "a clock_timestamp() column (the COPY's time, slightly before the commit)")}");
        long batches;
        using (var bus = new EventBus(new EventBusOptions { Topics = [Workload.Topic] }))
        {
            await using var consumer = new PostgresConsumer(bus, options);
            await consumer.StartAsync();
            await Pacer.RunAsync(count, settings.Rate, (n, now) =>
            {
                var @event = Workload.CreateEvent(n, now);
                ids[@event.Id] = n;
                published[n] = now;
                bus.Publish(@event);
            });

            await RxEventBusEndToEnd.WaitUntilPersistedAsync(bus, consumer, count);
            batches = consumer.Statistics.Batches;
        }

        var latencies = new List<double>(count);
        var column = commitTimestamps ? "pg_xact_commit_timestamp(xmin)" : "bench_written_at";
        await using (var command = database.DataSource.CreateCommand($"SELECT id, {column} FROM {table.QualifiedName}"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var index = ids[reader.GetGuid(0)];
                if (index >= WarmUpEvents)
                {
                    latencies.Add((reader.GetFieldValue<DateTime>(1) - published[index]).TotalMilliseconds);
                }
            }
        }

        await database.DropAsync(table);
        latencies.Sort();
        Console.WriteLine();
        Console.WriteLine($"{count:N0} events in {batches:N0} batches ({(double)count / batches:F1} events a batch); the first {WarmUpEvents:N0} left out as warm-up");
        Console.WriteLine();
        Console.WriteLine("| Publish → commit | p50 | p90 | p99 | p99.9 | max |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| ms | {Percentile(latencies, 50):F1} | {Percentile(latencies, 90):F1} | {Percentile(latencies, 99):F1} | {Percentile(latencies, 99.9):F1} | {latencies[^1]:F1} |"));
        var p99 = Percentile(latencies, 99);
        Console.WriteLine();
        Console.WriteLine($"target p99 ≤ 50 ms: {(p99 <= 50 ? "pass" : "FAIL")}");
        return latencies.Count == count - WarmUpEvents ? 0 : 1;
    }

    private static double Percentile(List<double> sorted, double percent) =>
        sorted[Math.Clamp((int)Math.Ceiling(percent / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
}
