using System.Diagnostics;

namespace RxEventBus.PipelineBench.Infrastructure;

// Publishing at a steady rate, as the latency modes need: every millisecond, `publish(n, now)` for each event
// whose moment has come (event n is due at n / rate seconds), until `total` have gone out. Wall-clock time on
// purpose: this is the bench measuring the library, not library code.
internal static class Pacer
{
    internal static async Task RunAsync(int total, int rate, Action<int, DateTime> publish)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(1));
        var clock = Stopwatch.StartNew();
        var next = 0;
        while (next < total && await timer.WaitForNextTickAsync())
        {
            var due = Math.Min(total, (int)(clock.Elapsed.TotalSeconds * rate));
            for (; next < due; next++)
            {
                publish(next, DateTime.UtcNow);
            }
        }
    }
}
