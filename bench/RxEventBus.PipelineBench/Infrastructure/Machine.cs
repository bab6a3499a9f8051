using System.Runtime;
using System.Runtime.InteropServices;

namespace RxEventBus.PipelineBench.Infrastructure;

// What the figures were measured on, printed at the top of every run so a pasted result carries it.
internal static class Machine
{
    internal static async Task PrintAsync(BenchDatabase database, BenchSettings settings)
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var dotnetVariables = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("DOTNET_", StringComparison.Ordinal) && k is not ("DOTNET_NOLOGO" or "DOTNET_CLI_TELEMETRY_OPTOUT"))
            .Order(StringComparer.Ordinal)
            .Select(k => $"{k}={Environment.GetEnvironmentVariable(k)}");
        Console.WriteLine($"# RxEventBus.PipelineBench — mode {settings.Mode}");
        Console.WriteLine($"machine:  {Environment.ProcessorCount} cores, {cpu ?? RuntimeInformation.ProcessArchitecture.ToString()}, {RuntimeInformation.OSDescription}");
        Console.WriteLine($"runtime:  {RuntimeInformation.FrameworkDescription}, GC {(GCSettings.IsServerGC ? "server" : "workstation")}" +
            $"{(GCSettings.LatencyMode == GCLatencyMode.Batch ? " non-concurrent" : " concurrent")}; {string.Join(' ', dotnetVariables)}");
        Console.WriteLine($"database: {await database.ScalarAsync("SELECT version()")} — {database.Description}");
        Console.WriteLine($"load average at the start: {LoadAverage()}");
        Console.WriteLine();
    }

    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
