using Microsoft.Extensions.Logging;

namespace RxEventBus.Postgres.Internal;

// Every message the persistence package logs, with a stable event id each, so operators can alert on them.
// Ids are never reused: 11 (schema retry) is now part of 2.
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "Event {EventId} on topic {Topic} was dropped: {Reason}.")]
    internal static partial void EventDropped(ILogger logger, Guid eventId, string topic, string reason);

    // Warning for a transient failure (each retry); Error when a failure that needs a person starts or changes
    // cause, then Debug while it lasts (ConsumerHealth decides).
    [LoggerMessage(EventId = 2, Message = "{What} failed (attempt {Attempt}); retrying in {DelayMs} ms. Table {Table}.")]
    internal static partial void Retrying(ILogger logger, LogLevel level, Exception error, string what, int attempt, double delayMs, string table);

    [LoggerMessage(3, LogLevel.Error, "Dead letter stored in {DeadLetterTable}: {Reason}")]
    internal static partial void DeadLetter(ILogger logger, Exception? error, string deadLetterTable, string reason);

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

    [LoggerMessage(22, LogLevel.Debug, "Skipped deleting expired events from {Table}: another instance is deleting them (it holds the cleaner's lock).")]
    internal static partial void ExpiredDeletionLeftToOtherInstance(ILogger logger, string table);

    [LoggerMessage(10, LogLevel.Debug, "Deleting expired events from {Table} was interrupted because the cleaner stopped.")]
    internal static partial void ExpiredDeletionInterrupted(ILogger logger, Exception exception, string table);

    [LoggerMessage(12, LogLevel.Information, "Persisting the topics matching {Topics} to {Table} with {Writers} writer(s), in batches of up to {MaxBatchSize} events.")]
    internal static partial void ConsumerStarted(ILogger logger, string topics, string table, int writers, int maxBatchSize);

    [LoggerMessage(13, LogLevel.Information, "Stopped persisting to {Table}: {Persisted} events persisted, {Unwritten} accepted but not written.")]
    internal static partial void ConsumerStopped(ILogger logger, string table, long persisted, int unwritten);

    [LoggerMessage(14, LogLevel.Critical, "Persistence to {Table} faulted and stopped: {Reason}")]
    internal static partial void ConsumerFaulted(ILogger logger, Exception error, string table, string reason);

    [LoggerMessage(15, LogLevel.Information, "Persistence to {Table} recovered: writes succeed again.")]
    internal static partial void ConsumerRecovered(ILogger logger, string table);

    [LoggerMessage(16, LogLevel.Error, "An observer of the persistence consumer's {Stream} threw; it keeps receiving, and persistence goes on.")]
    internal static partial void ObserverFailed(ILogger logger, Exception error, string stream);

    // Information: creating a new table, and adding what an older table lacks, both belong in a normal log.
    [LoggerMessage(17, LogLevel.Information, "Events table {Table}: {Change}.")]
    internal static partial void SchemaChanged(ILogger logger, string table, string change);

    [LoggerMessage(18, LogLevel.Warning, "Events table {Table}: {Warning}")]
    internal static partial void SchemaWarning(ILogger logger, string table, string warning);

    [LoggerMessage(19, LogLevel.Warning, "Event {EventId} on topic {Topic} was refused: {Reason}.")]
    internal static partial void EventRefused(ILogger logger, Guid eventId, string topic, string reason);

    [LoggerMessage(20, LogLevel.Warning, "The bus ended the persistence consumer's subscription ({How}); the consumer writes what it holds and stops.")]
    internal static partial void SubscriptionEnded(ILogger logger, Exception? error, string how);

    [LoggerMessage(21, LogLevel.Information, "Dead letter {EventId} on topic {Topic} replayed {How}.")]
    internal static partial void DeadLetterReplayed(ILogger logger, Guid eventId, string topic, string how);

    [LoggerMessage(23, LogLevel.Information, "Events table {Table}: made partitions {Partitions}.")]
    internal static partial void PartitionsCreated(ILogger logger, string table, string partitions);

    [LoggerMessage(24, LogLevel.Information, "Events table {Table}: dropped partitions {Partitions}, whose every row expired before {At:O}.")]
    internal static partial void PartitionsDropped(ILogger logger, string table, string partitions, DateTimeOffset at);
}
