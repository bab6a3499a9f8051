using Microsoft.Extensions.Logging;

namespace RxEventBus.Postgres.Internal;

// The messages of subscriptions over the events table (EventSubscription), ids 30–39.
internal static partial class Log
{
    [LoggerMessage(30, LogLevel.Information, "Subscription {Name} on {Table} reads after {Position} ({From}).")]
    internal static partial void SubscriptionReading(ILogger logger, string name, string table, string position, string from);

    [LoggerMessage(31, LogLevel.Information, "Subscription {Name} on {Table} is being read by another instance; this one stands by and tries again every {Interval}.")]
    internal static partial void SubscriptionStandby(ILogger logger, string name, string table, TimeSpan interval);

    [LoggerMessage(32, LogLevel.Warning, "Subscription {Name} on {Table} lost its connection (attempt {Attempt}); reconnecting in {DelayMs} ms, then resuming after the last handled row.")]
    internal static partial void SubscriptionReconnecting(ILogger logger, Exception error, string name, string table, int attempt, double delayMs);

    [LoggerMessage(33, LogLevel.Error, "Subscription {Name} on {Table} stopped with an error that retrying cannot fix: {Reason}")]
    internal static partial void SubscriptionFaulted(ILogger logger, Exception error, string name, string table, string reason);

    [LoggerMessage(34, LogLevel.Warning, "Subscription {Name} on {Table} could not store its checkpoint {Position} while stopping; it resumes from the previous one, re-delivering what was handled since.")]
    internal static partial void CheckpointNotStored(ILogger logger, Exception error, string name, string table, string position);

    [LoggerMessage(35, LogLevel.Warning, "Listening for new rows on channel {Channel} failed; retrying in {DelayMs} ms. Subscriptions poll meanwhile, so rows arrive later but none is missed.")]
    internal static partial void ListenerFailed(ILogger logger, Exception error, string channel, double delayMs);

    [LoggerMessage(36, LogLevel.Information, "Listening for new rows on channel {Channel} again.")]
    internal static partial void ListenerResumed(ILogger logger, string channel);

    [LoggerMessage(37, LogLevel.Error, "An observer of subscription {Name}'s {Stream} threw; it keeps receiving, and the subscription goes on.")]
    internal static partial void SubscriptionObserverFailed(ILogger logger, Exception error, string name, string stream);

    [LoggerMessage(38, LogLevel.Warning, "Subscription {Name} on {Table}: committed rows have waited {Seconds:F0} s behind an older transaction that is still open: {Holder}. They are delivered, in order, when it ends; nothing is lost.")]
    internal static partial void SubscriptionHeldBack(ILogger logger, string name, string table, double seconds, string holder);

    [LoggerMessage(39, LogLevel.Information, "Subscription {Name} on {Table}: the transaction that held rows back has ended after {Seconds:F0} s.")]
    internal static partial void SubscriptionReleased(ILogger logger, string name, string table, double seconds);
}
