using Microsoft.Extensions.Logging;
using Npgsql;
using RxEventBus.Postgres.Internal;

namespace RxEventBus.Postgres.Subscriptions;

// The events table as a log: sessions that read it behind the transaction fence, and the listener for the
// writer's notifications. Each session (one connection that reads, and one that holds a name) and the listener
// hold their connections for as long as they live (a statement, a lock, a LISTEN), so they are opened from the
// data source and returned when disposed.
internal sealed class PostgresLogSource(
    NpgsqlDataSource dataSource, EventTable table, IEventSerializer serializer, ILogger logger) : ILogSource
{
    public string Table => table.QualifiedName;

    public async Task<ILogSession> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var session = new PostgresLogSession(dataSource, connection, table, serializer);
            await session.CheckPositionedAsync(cancellationToken).ConfigureAwait(false);
            return session;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public IDisposable Listen(Action wake, RetryPolicy retry) =>
        NotificationListener.Start(dataSource, table.NotificationChannel, wake, retry, logger);
}
