using Microsoft.Extensions.Logging;
using RxEventBus.Postgres;

namespace RxEventBus.Hosting.Internal;

// Every message the hosting package logs, with a stable event id each. Ids 1-99 belong to RxEventBus.Postgres
// (its Internal/Log.cs); hosting's start at 100, so that an id names one message whatever the category.
internal static partial class Log
{
    [LoggerMessage(100, LogLevel.Information, "PostgreSQL persistence is disabled (EB_PG_ENABLED is false): no event is written.")]
    internal static partial void PersistenceDisabled(ILogger logger);

    [LoggerMessage(101, LogLevel.Information, "Starting PostgreSQL persistence with {Options}.")]
    internal static partial void PersistenceStarting(ILogger logger, PostgresPersistenceOptions options);
}
