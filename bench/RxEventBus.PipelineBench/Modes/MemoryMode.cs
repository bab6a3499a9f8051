using System.Globalization;
using RxEventBus.PipelineBench.Contenders;
using RxEventBus.PipelineBench.Infrastructure;
using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench.Modes;

// Memory bounded by the buffer, not by N: (d) with the same options for each event count (1M and 4M by
// default) against a slowed database — every COPY sleeps first — so the publisher always outruns the
// writers and blocks on the full buffer. Events are made on the fly, never held by the harness, so the
// process's working set is the pipeline's. Peaks are sampled every 10 ms.
internal static class MemoryMode
{
    internal static async Task<int> RunAsync(BenchDatabase database, BenchSettings settings)
    {
        Console.WriteLine($"slowed database: every COPY statement sleeps {settings.SlowMs} ms first (a BEFORE INSERT statement trigger)");
        Console.WriteLine();
        Console.WriteLine("| events | seconds | rows/s | peak WS MB | WS before MB | peak managed heap MB | most pending on the bus | most buffered | alloc B/event | gen0/1/2 |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        var exitCode = 0;
        foreach (var count in settings.MemoryEvents)
        {
            var table = await database.FreshTableAsync("bench_memory", settings.Design);
            await database.SlowDownAsync(table, settings.SlowMs);
            var options = RxEventBusEndToEnd.Options(database, table, settings, TimeSpan.FromMilliseconds(settings.BatchDelayMs));
            Measurement measurement;
            int mostPending = 0, mostBuffered = 0;
            using (var bus = new EventBus(new EventBusOptions { Topics = [Workload.Topic] }))
            {
                await using var consumer = new PostgresConsumer(bus, options);
                await consumer.StartAsync();
                using var stopWatching = new CancellationTokenSource();
                var watcher = Task.Run(async () =>
                {
                    while (!stopWatching.IsCancellationRequested)
                    {
                        mostPending = Math.Max(mostPending, bus.Diagnostics.PendingEvents);
                        mostBuffered = Math.Max(mostBuffered, consumer.Statistics.Buffered);
                        await Task.Delay(50, CancellationToken.None);
                    }
                });
                using (var meter = ResourceMeter.Start(database.ServerPid))
                {
                    for (long i = 0; i < count; i++)
                    {
                        bus.Publish(Workload.CreateEvent(i, DateTimeOffset.UtcNow));
                    }

                    var persisted = await RxEventBusEndToEnd.WaitUntilPersistedAsync(bus, consumer, count);
                    measurement = meter.Stop(persisted);
                }

                await stopWatching.CancelAsync();
                await watcher;
            }

            var stored = await database.CountAsync(table);
            await database.DropAsync(table);
            if (stored != count)
            {
                Console.WriteLine($"ROW COUNT MISMATCH: {stored:N0} rows stored for {count:N0} events");
                exitCode = 1;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {count:N0} | {measurement.Elapsed.TotalSeconds:F1} | {measurement.RowsPerSecond:N0} | {measurement.PeakWorkingSetMegabytes:F0} | " +
                $"{measurement.BaselineWorkingSet / 1048576.0:F0} | {measurement.PeakManagedHeap / 1048576.0:F0} | {mostPending:N0} | {mostBuffered:N0} | " +
                $"{measurement.AllocatedPerRow:F0} | {measurement.Gen0}/{measurement.Gen1}/{measurement.Gen2} |"));
        }

        Console.WriteLine();
        Console.WriteLine("options: " + RxEventBusEndToEnd.Describe(RxEventBusEndToEnd.Options(database, new EventTable("bench_memory", "events", settings.Design), settings, TimeSpan.FromMilliseconds(settings.BatchDelayMs))));
        Console.WriteLine($"bound (docs/persistence.md): BufferSize + (PoolSize + 1) × MaxBatchSize = {settings.BufferSize + ((settings.PoolSize + 1) * settings.BatchSize):N0} events");
        return exitCode;
    }
}
