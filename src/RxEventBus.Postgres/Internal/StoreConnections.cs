using Npgsql;

namespace RxEventBus.Postgres.Internal;

// Where EventStore and DeadLetterStore open their connections. A store made by a PostgresConsumer shares the
// consumer's pool while the consumer lives; when the consumer disposes a pool it built itself, the stores move
// to an unpooled data source over the same connection string, so a store handed out earlier stays usable (one
// physical connection per call) and nothing is left open: an unpooled data source holds no connection between
// calls, which is why it is never disposed. A store over a caller's data source never moves: its lifetime is
// the caller's.
internal sealed class StoreConnections
{
    private NpgsqlDataSource _current;

    public StoreConnections(NpgsqlDataSource dataSource) => _current = dataSource;

    public ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref _current).OpenConnectionAsync(cancellationToken);

    // The connection string is the one the pool was built from: NpgsqlDataSource.ConnectionString drops the
    // password, so it cannot be read back from the pool.
    public void MoveOffPool(string connectionString)
    {
        var unpooled = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        Volatile.Write(ref _current, NpgsqlDataSource.Create(unpooled));
    }
}
