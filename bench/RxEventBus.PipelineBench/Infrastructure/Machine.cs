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

    // The load average, and the kernel's CPU pressure (PSI) where it exists: the share of the last 10 and 60 s in
    // which some runnable task waited for a CPU, which says more about a shared machine than the load does.
    internal static string LoadAverage()
    {
        var load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
        return CpuPressure() is { } pressure ? $"{load}; CPU pressure {pressure}" : load;
    }

    // "some avg10=96.41 avg60=97.23 …" → "some avg10 96% avg60 97%"; null without PSI.
    internal static string? CpuPressure()
    {
        try
        {
            var some = File.ReadLines("/proc/pressure/cpu").FirstOrDefault(l => l.StartsWith("some ", StringComparison.Ordinal));
            if (some is null)
            {
                return null;
            }

            var fields = some.Split(' ').Skip(1).Take(2).Select(f => f.Split('=')).Where(f => f.Length == 2);
            return "some " + string.Join(' ', fields.Select(f => $"{f[0]} {double.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture):F0}%"));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
