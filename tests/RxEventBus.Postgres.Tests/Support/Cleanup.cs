namespace RxEventBus.Postgres.Tests.Support;

// Teardown for tests on virtual time. A consumer's StopAsync waits up to ShutdownTimeout of the bus's
// scheduler time, which a TestScheduler never advances on its own: after a failed assertion left a batch
// unwritten, disposing would wait forever and turn one failure into a hung test run. Stopping first with a
// real-time limit ends the wait (what is left is reported in Unwritten) and lets the failure be reported.
internal static class Cleanup
{
    private static readonly TimeSpan StopLimit = TimeSpan.FromSeconds(30);

    internal static async Task DisposeAllAsync(IEnumerable<IAsyncDisposable> items)
    {
        foreach (var item in items)
        {
            if (item is PostgresConsumer consumer)
            {
                using var limit = new CancellationTokenSource(StopLimit);
                await consumer.StopAsync(limit.Token);
            }

            await item.DisposeAsync();
        }
    }
}
