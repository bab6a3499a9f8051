using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using RxEventBus.PipelineBench.Contenders;
using RxEventBus.PipelineBench.Infrastructure;
using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench.Modes;

// Issue 12's live latency, commit → delivery in another OS process. For each run and each variant (the
// writer's NOTIFY per batch on, then off: polling alone), on a fresh table: the harness starts itself as a
// child process (`dotnet <this dll> --mode subscriber …`, SubscriberMode) that follows the table from End and
// prints each event's id and receive time; once the child is Live, this process publishes at --rate through a
// PostgresConsumer (MaxBatchDelay --latency-delay-ms) with PublishAsync, for --warmup-seconds then --seconds.
// Each event's commit time is its batch's commit, read back from PostgreSQL: pg_xact_commit_timestamp(xmin)
// (track_commit_timestamp, on in the embedded cluster); without it, the moment PublishAsync completed here,
// which is after the commit (the acknowledgement follows it). Both processes and the server run on this
// machine and read the same wall clock (CLOCK_REALTIME: DateTime.UtcNow, the server's commit timestamp), so
// the differences are comparable; the events of the warm-up are left out.
internal static class LiveMode
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    // Bounds on real-process waits, safety nets only: a child that does not start, or does not receive.
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    internal static async Task<int> RunAsync(BenchDatabase database, BenchSettings settings)
    {
        var commitTimestamps = await database.ScalarAsync("SHOW track_commit_timestamp") == "on";
        var warmUp = settings.Rate * settings.WarmUpSeconds;
        var measured = settings.Rate * settings.Seconds;
        var options = RxEventBusEndToEnd.Options(database, new EventTable("bench_live", "events", settings.Design), settings, TimeSpan.FromMilliseconds(settings.LatencyDelayMs));
        Console.WriteLine($"per run and variant: {warmUp:N0} events of warm-up then {measured:N0} measured, at {settings.Rate:N0}/s; consumer {RxEventBusEndToEnd.Describe(options)}");
        Console.WriteLine($"subscriber: another process (dotnet {Path.GetFileName(typeof(LiveMode).Assembly.Location)} --mode subscriber), EventSubscription from End, " +
            $"the library's defaults (PageSize {new EventSubscriptionOptions().PageSize}, MinPollInterval {new EventSubscriptionOptions().MinPollInterval.TotalMilliseconds} ms, " +
            $"MaxPollInterval {new EventSubscriptionOptions().MaxPollInterval.TotalMilliseconds} ms)");
        Console.WriteLine($"commit time: {(commitTimestamps ? "the batch's commit, pg_xact_commit_timestamp(xmin)" : "PublishAsync's completion here (track_commit_timestamp is off), after the commit")}");
        Console.WriteLine();
        Console.WriteLine($"over {SlowMs} ms: the events delivered later than that after their commit, and in how many episodes (runs of them published less than {EpisodeGapMs} ms apart)");
        Console.WriteLine();
        Console.WriteLine($"| run | NotifyOnCommit | events | batches | commit → delivery p50 ms | p90 | p99 | p99.9 | max | over {SlowMs} ms: events (episodes) | " +
            "publish → commit p50 | p99 | PublishAsync done → delivery p50 | p99 | subscriber GC pause ms (gen0/1/2) | load; CPU pressure after |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
        var byVariant = settings.NotifyVariants.ToDictionary(v => v, _ => new List<double[]>());
        var exitCode = 0;
        for (var run = 1; run <= settings.Runs; run++)
        {
            foreach (var notify in settings.NotifyVariants)
            {
                var result = await MeasureAsync(database, settings, notify, commitTimestamps, warmUp, measured);
                if (result.Problem is { } problem)
                {
                    Console.WriteLine($"run {run}, NotifyOnCommit {notify}: {problem}");
                    exitCode = 1;
                    continue;
                }

                var d = result.Delivery;
                byVariant[notify].Add([Percentile(d, 50), Percentile(d, 99), d[^1]]);
                Console.WriteLine(string.Create(Invariant,
                    $"| {run} | {notify} | {d.Count:N0} | {result.Batches:N0} | {Percentile(d, 50):F1} | {Percentile(d, 90):F1} | {Percentile(d, 99):F1} | {Percentile(d, 99.9):F1} | {d[^1]:F1} | " +
                    $"{result.Slow:N0} ({result.Episodes}) | {Percentile(result.Commit, 50):F1} | {Percentile(result.Commit, 99):F1} | {Percentile(result.AfterAck, 50):F1} | {Percentile(result.AfterAck, 99):F1} | " +
                    $"{result.SubscriberStats} | {Machine.LoadAverage()} |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine($"## Commit → delivery in another process, medians of {settings.Runs} run(s)");
        Console.WriteLine();
        Console.WriteLine("| NotifyOnCommit | p50 ms | p99 ms | max ms | target p99 ≤ 50 ms |");
        Console.WriteLine("|---|---:|---:|---:|---|");
        foreach (var (notify, runs) in byVariant.Where(v => v.Value.Count > 0))
        {
            var p99 = ThroughputMode.Median(runs.Select(r => r[1]));
            Console.WriteLine(string.Create(Invariant,
                $"| {notify} | {ThroughputMode.Median(runs.Select(r => r[0])):F1} | {p99:F1} | {ThroughputMode.Median(runs.Select(r => r[2])):F1} | {(p99 <= 50 ? "pass" : "FAIL")} |"));
        }

        return exitCode;
    }

    private const double SlowMs = 50;
    private const double EpisodeGapMs = 100;

    private sealed record LiveResult(
        List<double> Delivery, List<double> Commit, List<double> AfterAck, long Batches, int Slow, int Episodes, string SubscriberStats, string? Problem);

    private static async Task<LiveResult> MeasureAsync(BenchDatabase database, BenchSettings settings, bool notify, bool commitTimestamps, int warmUp, int measured)
    {
        var table = await database.FreshTableAsync("bench_live", settings.Design);
        var total = warmUp + measured;
        var received = new ConcurrentDictionary<Guid, long>();
        var subscriberStats = "n/a";
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var allReceived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var child = StartSubscriber(database, table, settings, total);
        var stderr = child.StandardError.ReadToEndAsync();
        var stdout = Task.Run(async () =>
        {
            while (await child.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line == "ready")
                {
                    ready.TrySetResult();
                    continue;
                }

                if (line.StartsWith("stats ", StringComparison.Ordinal))
                {
                    var stats = line.Split(' ');
                    subscriberStats = $"{stats[1]} ({stats[2]}/{stats[3]}/{stats[4]})";
                    continue;
                }

                var space = line.IndexOf(' ', StringComparison.Ordinal);
                received[Guid.ParseExact(line.AsSpan(0, space), "N")] = long.Parse(line.AsSpan(space + 1), Invariant);
                if (received.Count == total)
                {
                    allReceived.TrySetResult();
                }
            }

            ready.TrySetException(new InvalidOperationException("the subscriber ended before it was ready"));
        });

        try
        {
            try
            {
                await ready.Task.WaitAsync(ReadyTimeout);
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException)
            {
                return Failed($"the subscriber process did not get ready ({e.Message}): {await StopAsync(child, stderr)}");
            }

            var ids = new Dictionary<Guid, int>(total);
            var published = new DateTime[total];
            var acknowledged = new long[total];
            var options = RxEventBusEndToEnd.Options(database, table, settings, TimeSpan.FromMilliseconds(settings.LatencyDelayMs));
            options.NotifyOnCommit = notify;
            long batches;
            using (var bus = new EventBus(new EventBusOptions { Topics = [Workload.Topic] }))
            {
                await using var consumer = new PostgresConsumer(bus, options);
                await consumer.StartAsync();
                var pending = new List<Task>(total);
                await Pacer.RunAsync(total, settings.Rate, (n, now) =>
                {
                    var @event = Workload.CreateEvent(n, now);
                    ids[@event.Id] = n;
                    published[n] = now;
                    pending.Add(TrackAsync(consumer.PublishAsync(@event), acknowledged, n));
                });

                await Task.WhenAll(pending);
                batches = consumer.Statistics.Batches;
            }

            try
            {
                await allReceived.Task.WaitAsync(DrainTimeout);
            }
            catch (TimeoutException)
            {
                return Failed($"the subscriber received {received.Count:N0} of {total:N0} events within {DrainTimeout.TotalSeconds} s: {await StopAsync(child, stderr)}");
            }

            await StopAsync(child, stderr);
            var committed = new long[total];
            if (commitTimestamps)
            {
                await using var command = database.DataSource.CreateCommand($"SELECT id, pg_xact_commit_timestamp(xmin) FROM {table.QualifiedName}");
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    committed[ids[reader.GetGuid(0)]] = reader.GetFieldValue<DateTime>(1).Ticks;
                }
            }
            else
            {
                acknowledged.CopyTo(committed, 0);
            }

            var delivery = new List<double>(measured);
            var commit = new List<double>(measured);
            var afterAck = new List<double>(measured);
            int slow = 0, episodes = 0;
            var lastSlow = DateTime.MinValue;
            foreach (var (id, index) in ids.OrderBy(p => p.Value))
            {
                if (index < warmUp)
                {
                    continue;
                }

                var at = received[id];
                var latency = TimeSpan.FromTicks(at - committed[index]).TotalMilliseconds;
                delivery.Add(latency);
                commit.Add(TimeSpan.FromTicks(committed[index] - published[index].Ticks).TotalMilliseconds);
                afterAck.Add(TimeSpan.FromTicks(at - acknowledged[index]).TotalMilliseconds);
                if (latency > SlowMs)
                {
                    slow++;
                    if ((published[index] - lastSlow).TotalMilliseconds > EpisodeGapMs)
                    {
                        episodes++;
                    }

                    lastSlow = published[index];
                }
            }

            delivery.Sort();
            commit.Sort();
            afterAck.Sort();
            await stdout.WaitAsync(DrainTimeout);
            return new LiveResult(delivery, commit, afterAck, batches, slow, episodes, subscriberStats, null);
        }
        finally
        {
            await StopAsync(child, stderr);
            await stdout.WaitAsync(DrainTimeout).ContinueWith(static _ => { }, TaskScheduler.Default);
            await database.DropAsync(table);
        }

        static LiveResult Failed(string problem) => new([], [], [], 0, 0, 0, "", problem);
    }

    // When PublishAsync completed: after the commit and the acknowledgement that follows it.
    private static async Task TrackAsync(Task publishing, long[] acknowledged, int index)
    {
        await publishing;
        acknowledged[index] = DateTime.UtcNow.Ticks;
    }

    // `dotnet <this dll>`: the harness itself, from the same build, in its subscriber mode.
    private static Process StartSubscriber(BenchDatabase database, EventTable table, BenchSettings settings, int count)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            typeof(LiveMode).Assembly.Location, "--mode", "subscriber", "--database-url", database.ConnectionString,
            "--table", $"{table.Schema}.{table.Table}", "--count", count.ToString(Invariant), "--payload", settings.PayloadName,
        })
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
    }

    // Waits for the child to exit (it does after --count events), killing it if it has not within the bound;
    // returns what it wrote to stderr.
    private static async Task<string> StopAsync(Process child, Task<string> stderr)
    {
        if (!child.HasExited)
        {
            try
            {
                await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (TimeoutException)
            {
                child.Kill(entireProcessTree: true);
                await child.WaitForExitAsync();
            }
        }

        var error = await stderr;
        return $"exit code {child.ExitCode}{(error.Length == 0 ? "" : ", stderr: " + error.Trim())}";
    }

    private static double Percentile(List<double> sorted, double percent) =>
        sorted[Math.Clamp((int)Math.Ceiling(percent / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
}
