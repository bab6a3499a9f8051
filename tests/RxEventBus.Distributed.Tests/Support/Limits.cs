namespace RxEventBus.Distributed.Tests.Support;

/// <summary>The time bounds of this project: safety nets against a hang, never a measure of speed.</summary>
internal static class Limits
{
    /// <summary>
    /// A whole test, so that the project's four stay within four minutes. Each takes 5–20 s; at the limit xunit fails
    /// it (xunit honours Timeout here because the collection runs its tests one at a time), and the processes it
    /// started are killed as their owners are disposed.
    /// </summary>
    public const int TestMilliseconds = 60_000;

    /// <summary>One wait for something a process or the server should do (a line printed, an exit, a checkpoint).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
}
