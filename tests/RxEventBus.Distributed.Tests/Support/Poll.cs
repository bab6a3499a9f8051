using System.Diagnostics;

namespace RxEventBus.Distributed.Tests.Support;

/// <summary>Waits for a state only the server can show (pg_stat_activity, a stored checkpoint).</summary>
internal static class Poll
{
    /// <summary>
    /// Checks <paramref name="condition"/> until it holds; fails saying <paramref name="because"/> after
    /// <paramref name="timeout"/> — a safety net against a hang, not a timing. The pause between checks only paces
    /// the polling: no step of a test is ordered by it.
    /// </summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string because, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > timeout)
            {
                throw new TimeoutException($"not within {timeout.TotalSeconds:0} s: {because}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }
}
