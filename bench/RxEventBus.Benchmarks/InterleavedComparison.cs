using System.Diagnostics;
using System.Globalization;

namespace RxEventBus.Benchmarks;

/// <summary>
/// A load-robust cross-check of the BenchmarkDotNet ratios, for a shared machine: BenchmarkDotNet runs one
/// benchmark after the other, so when other processes load the machine during one and not the other, the
/// ratio of their medians measures the load. Here each round times a short batch of every contender in turn
/// (in shuffled order), so outside load falls on all alike, and the low percentiles show undisturbed cost.
/// It drives the same benchmark classes, setups and methods as the BenchmarkDotNet run.
/// </summary>
/// <remarks>
/// Figures include one delegate call per operation; the "empty" row is that call alone, subtracted in the
/// "net" column and in the ratios. It measures time only: allocation is BenchmarkDotNet's job.
/// </remarks>
internal static class InterleavedComparison
{
    private const int Batch = 10_000;
    private const int Rounds = 400;

    public static void Run()
    {
        Console.WriteLine(
            $"Interleaved comparison: {Rounds} rounds x {Batch:N0} calls per contender, .NET {Environment.Version}, " +
            $"{Environment.ProcessorCount} cores.");

        foreach (var subscribers in new[] { 1, 8 })
        {
            var publish = new PublishBenchmarks { Subscribers = subscribers };
            publish.Setup();
            var results = Measure(
                ("Subject<Event>.OnNext", publish.SubjectOnNext),
                ("EventBus.Publish", publish.BusPublish));
            Print($"Publish, {subscribers} subscriber(s)", results, "Subject throughput / bus throughput", inverse: true);
            publish.Cleanup();
        }

        var few = new TopicCountBenchmarks();
        few.SetupFewTopics();
        var many = new TopicCountBenchmarks();
        many.SetupManyTopics();
        var topics = Measure(
            ("Publish, 10 topics", few.Publish10Topics),
            ("Publish, 10,000 topics + 1,000 patterns", many.Publish10000Topics1000Patterns));
        Print("Topic count", topics, "10,000-topic cost / 10-topic cost", inverse: false);
        few.Cleanup();
        many.Cleanup();

        TrackedPublishBenchmarks[] sides = [new() { Tracked = false }, new() { Tracked = true }];
        foreach (var side in sides)
        {
            side.Setup();
        }

        Print(
            "Tracked subscriber",
            Measure(("Publish, 1 plain subscriber", sides[0].Publish), ("Publish, 1 tracked subscriber answering", sides[1].Publish)),
            "tracked cost / plain cost",
            inverse: false);
        foreach (var side in sides)
        {
            side.Cleanup();
        }
    }

    private static (string Name, double[] Sorted)[] Measure(params (string Name, Action Call)[] contenders)
    {
        (string Name, Action Call)[] all = [("empty (call overhead)", static () => { }), .. contenders];
        var samples = all.Select(_ => new List<double>(Rounds)).ToArray();

        // Warm up until tiered compilation has settled on the optimized code.
        for (var warm = 0; warm < 100; warm++)
        {
            foreach (var (_, call) in all)
            {
                for (var i = 0; i < Batch; i++)
                {
                    call();
                }
            }
        }

#pragma warning disable CA5394 // Shuffling the order of contenders; no security involved.
        var random = new Random(20_240_601);
        for (var round = 0; round < Rounds; round++)
        {
            foreach (var k in Enumerable.Range(0, all.Length).OrderBy(_ => random.Next()))
#pragma warning restore CA5394
            {
                var call = all[k].Call;
                var start = Stopwatch.GetTimestamp();
                for (var i = 0; i < Batch; i++)
                {
                    call();
                }

                samples[k].Add(Stopwatch.GetElapsedTime(start).TotalNanoseconds / Batch);
            }
        }

        return [.. all.Select((c, k) => (c.Name, samples[k].Order().ToArray()))];
    }

    private static void Print(string title, (string Name, double[] Sorted)[] results, string ratioName, bool inverse)
    {
        static double At(double[] sorted, double q) => sorted[(int)(q * (sorted.Length - 1))];

        var overhead = At(results[0].Sorted, 0.5);
        Console.WriteLine();
        Console.WriteLine($"## {title} (ns/op)");
        Console.WriteLine($"| {"contender",-40} | {"min",7} | {"p10",7} | {"median",7} | {"net median",10} |");
        Console.WriteLine($"|{new string('-', 42)}|{new string('-', 9)}|{new string('-', 9)}|{new string('-', 9)}|{new string('-', 12)}|");
        foreach (var (name, sorted) in results)
        {
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {name,-40} | {sorted[0],7:F2} | {At(sorted, 0.1),7:F2} | {At(sorted, 0.5),7:F2} | {At(sorted, 0.5) - overhead,10:F2} |"));
        }

        foreach (var q in new[] { 0.1, 0.5 })
        {
            var a = At(results[1].Sorted, q) - At(results[0].Sorted, q);
            var b = At(results[2].Sorted, q) - At(results[0].Sorted, q);
            var ratio = inverse ? a / b : b / a;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{ratioName}, net, at p{q * 100:F0}: {ratio:F2}"));
        }
    }
}
