using RxEventBus.PipelineBench.Infrastructure;
using RxEventBus.PipelineBench.Modes;

namespace RxEventBus.PipelineBench;

// The whole command: parse, open the database, run one mode, report. Callable from the smoke tests as well
// as from Program, so CI exercises exactly what the documented command runs.
internal static class Harness
{
    // 0: every row count matched; 1: a row count did not; 2: bad arguments. A missed throughput or latency
    // target is reported, never an exit code: durations on a shared machine are not pass/fail material.
    internal static async Task<int> RunAsync(string[] args)
    {
        BenchSettings settings;
        try
        {
            settings = BenchSettings.Parse(args);
        }
        catch (ArgumentException e)
        {
            if (e.Message.Length > 0)
            {
                Console.Error.WriteLine(e.Message);
            }

            Console.Error.WriteLine(BenchSettings.Usage);
            return 2;
        }

        // The live mode's child: its stdout is the parent's data channel, and the database is the parent's.
        if (settings.Mode == BenchMode.Subscriber)
        {
            return await SubscriberMode.RunAsync(settings);
        }

        await using var database = await BenchDatabase.OpenAsync(settings.DatabaseUrl);
        await Machine.PrintAsync(database, settings);
        var exitCode = settings.Mode switch
        {
            BenchMode.Memory => await MemoryMode.RunAsync(database, settings),
            BenchMode.Latency => await LatencyMode.RunAsync(database, settings),
            BenchMode.CatchUp => await CatchUpMode.RunAsync(database, settings),
            BenchMode.Live => await LiveMode.RunAsync(database, settings),
            BenchMode.Retention => await RetentionMode.RunAsync(database, settings),
            BenchMode.Sustained => await SustainedMode.RunAsync(database, settings),
            BenchMode.Queries => await QueryMode.RunAsync(database, settings),
            _ => await ThroughputMode.RunAsync(database, settings),
        };
        Console.WriteLine($"load average at the end: {Machine.LoadAverage()}");
        return exitCode;
    }
}
