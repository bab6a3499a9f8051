using Npgsql;

namespace RxEventBus.Postgres.Internal;

// Where EventStore and DeadLetterStore open their connections. A store made by a PostgresConsumer shares the
// consumer's pool while the consumer lives; when the consumer disposes a pool it built itself, the stores go on
// with plain unpooled connections over the same connection string (one physical connection per call, closed when
// the call ends), so a store handed out earlier stays usable and nothing is left open. No data source is created
// for that: a disposed consumer whose stores are never used again leaves nothing behind. A store over a caller's
// data source never moves: its lifetime is the caller's.
internal sealed class StoreConnections(NpgsqlDataSource dataSource)
{
    private volatile string? _unpooled;

    public async ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (_unpooled is not { } connectionString)
        {
            return await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }

        var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // The connection string is the one the pool was built from: NpgsqlDataSource.ConnectionString drops the
    // password, so it cannot be read back from the pool.
    public void MoveOffPool(string connectionString) =>
        _unpooled = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString;
}
