using RxEventBus.PipelineBench;
using RxEventBus.PipelineBench.Infrastructure;
using RxEventBus.PipelineBench.Modes;

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

await using var database = await BenchDatabase.OpenAsync(settings.DatabaseUrl);
await Machine.PrintAsync(database, settings);
var exitCode = settings.Mode switch
{
    BenchMode.Memory => await MemoryMode.RunAsync(database, settings),
    BenchMode.Latency => await LatencyMode.RunAsync(database, settings),
    _ => await ThroughputMode.RunAsync(database, settings),
};
Console.WriteLine($"load average at the end: {Machine.LoadAverage()}");
return exitCode;
