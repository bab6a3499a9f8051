namespace RxEventBus.Postgres.Tests.Support;

internal static class ConsumerStop
{
    private static readonly TimeSpan DefaultLimit = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Stops <paramref name="consumer"/> with a real-time limit and asserts that it wrote everything it accepted. A
    /// write that retries forever (a regression in the writer, a database left broken by the test) then fails the
    /// test by name, with the consumer's state and reason, instead of hanging the run: on a virtual-time scheduler
    /// the consumer's own ShutdownTimeout never elapses.
    /// </summary>
    internal static async Task StopWithinAsync(this PostgresConsumer consumer, TimeSpan? limit = null)
    {
        using var cancel = new CancellationTokenSource(limit ?? DefaultLimit);
        await consumer.StopAsync(cancel.Token);
        consumer.Unwritten.Should().BeEmpty(
            $"every accepted event should be written within {limit ?? DefaultLimit} of the stop; the consumer was " +
            $"{consumer.Status.State} ({consumer.Status.Reason})");
    }

    /// <summary>
    /// Stops a consumer whose database is unreachable on purpose, giving up on what it holds after a second of real
    /// time: on a virtual-time scheduler its own ShutdownTimeout never elapses, and waiting longer cannot help.
    /// </summary>
    internal static async Task StopNowAsync(this PostgresConsumer consumer)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        await consumer.StopAsync(cancel.Token);
    }
}
