using Microsoft.Extensions.Logging;

namespace RxEventBus.Postgres.Internal;

// Every message the persistence package logs, with a stable event id each, so operators can alert on them.
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "Event {EventId} on topic {Topic} was dropped: {Reason}.")]
    internal static partial void EventDropped(ILogger logger, Guid eventId, string topic, string reason);

    [LoggerMessage(2, LogLevel.Warning, "Writing a batch of {Count} rows to {Table} failed (attempt {Attempt}); retrying in {DelayMs} ms.")]
    internal static partial void BatchRetry(ILogger logger, Exception error, int count, string table, int attempt, double delayMs);

    [LoggerMessage(3, LogLevel.Error, "Dead letter: {Reason}")]
    internal static partial void DeadLetter(ILogger logger, Exception? error, string reason);

    [LoggerMessage(4, LogLevel.Information, "Events table {Table} is in place.")]
    internal static partial void SchemaEnsured(ILogger logger, string table);

    [LoggerMessage(5, LogLevel.Error, "Event {EventId} on topic {Topic} was accepted but not written before the persistence consumer stopped.")]
    internal static partial void Unwritten(ILogger logger, Guid eventId, string topic);

    [LoggerMessage(6, LogLevel.Debug, "A batch of {Count} rows holds ids already stored; rewriting it through a staging table, idempotently.")]
    internal static partial void RewritingIdempotently(ILogger logger, int count);

    [LoggerMessage(7, LogLevel.Debug, "Deleted {Count} expired events from {Table} (expired before {At:O}).")]
    internal static partial void ExpiredDeleted(ILogger logger, int count, string table, DateTimeOffset at);

    [LoggerMessage(8, LogLevel.Error, "Deleting expired events from {Table} failed; the next run is in {Period}.")]
    internal static partial void ExpiredDeletionFailed(ILogger logger, Exception exception, string table, TimeSpan period);

    [LoggerMessage(9, LogLevel.Warning, "Skipped deleting expired events from {Table}: the previous run has not finished.")]
    internal static partial void ExpiredDeletionSkipped(ILogger logger, string table);

    [LoggerMessage(10, LogLevel.Debug, "Deleting expired events from {Table} was interrupted because the cleaner stopped.")]
    internal static partial void ExpiredDeletionInterrupted(ILogger logger, Exception exception, string table);

    [LoggerMessage(11, LogLevel.Warning, "Creating the events table {Table} failed (attempt {Attempt}); retrying in {DelayMs} ms. Events are buffered meanwhile.")]
    internal static partial void SchemaRetry(ILogger logger, Exception error, string table, int attempt, double delayMs);

    [LoggerMessage(12, LogLevel.Information, "Persisting the topics matching {Topics} to {Table} with {Writers} writer(s), in batches of up to {MaxBatchSize} events.")]
    internal static partial void ConsumerStarted(ILogger logger, string topics, string table, int writers, int maxBatchSize);

    [LoggerMessage(13, LogLevel.Information, "Stopped persisting to {Table}: {Persisted} events persisted, {Unwritten} accepted but not written.")]
    internal static partial void ConsumerStopped(ILogger logger, string table, long persisted, int unwritten);
}
