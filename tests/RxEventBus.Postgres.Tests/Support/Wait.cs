namespace RxEventBus.Postgres.Tests.Support;

// Waiting, in real time, for a state the test can observe (a count, a flag) rather than for a duration.
internal static class Wait
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    internal static async Task UntilAsync(Func<bool> condition, string because, TimeSpan? timeout = null) =>
        (await Task.Run(() => SpinWait.SpinUntil(condition, timeout ?? DefaultTimeout))).Should().BeTrue(because);
}
