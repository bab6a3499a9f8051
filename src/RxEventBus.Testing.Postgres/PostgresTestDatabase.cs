using Npgsql;
using RxEventBus.Testing.Postgres.Internal;

namespace RxEventBus.Testing.Postgres;

/// <summary>
/// A fresh, empty database on the process's <see cref="PostgresTestServer"/>, for one test class: create it in the
/// class's setup, hand <see cref="ConnectionString"/> or <see cref="DataSource"/> to the code under test, and
/// dispose it in the class's teardown, which drops the database.
/// </summary>
/// <remarks>
/// <para>Databases of different classes are distinct, so classes run in parallel and never see each other's
/// tables; they share one server, started once per process.</para>
/// <para>The connection user is the server's (on the throwaway cluster the <c>postgres</c> superuser), so the code
/// under test may create schemas and tables freely.</para>
/// </remarks>
public sealed class PostgresTestDatabase : IAsyncDisposable
{
    private int _disposed;

    internal PostgresTestDatabase(PostgresTestServer server, string name, string connectionString)
    {
        Server = server;
        Name = name;
        ConnectionString = connectionString;
        DataSource = NpgsqlDataSource.Create(connectionString);
    }

    /// <summary>The server the database lives on, shared with every other test class of the process.</summary>
    public PostgresTestServer Server { get; }

    /// <summary>The database's name: <c>{prefix}_{8 random characters}</c>, never needing quotes.</summary>
    public string Name { get; }

    /// <summary>Npgsql connection string of this database.</summary>
    public string ConnectionString { get; }

    /// <summary>A pooled data source over <see cref="ConnectionString"/>; disposed with the database.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>
    /// Creates a schema in this database, named <c>{prefix}_{8 random characters}</c> in lower case: for tests of
    /// one class that each want their own tables, or code under test that is configured with a schema.
    /// </summary>
    /// <param name="prefix">Readable part of the name; anything but ASCII letters, digits and underscores is left out.</param>
    /// <param name="cancellationToken">Abandons the command.</param>
    /// <returns>The schema's name, safe to write into SQL unquoted.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="prefix"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The database was disposed.</exception>
    public async Task<string> CreateSchemaAsync(string prefix = "test", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var schema = DatabaseNames.Unique(prefix);
        var command = DataSource.CreateCommand($"CREATE SCHEMA {schema}");
        await using (command.ConfigureAwait(false))
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return schema;
    }

    /// <summary><see cref="ConnectionString"/> with <paramref name="schema"/> as the search path: unqualified names land there.</summary>
    /// <param name="schema">A schema of this database.</param>
    /// <exception cref="ArgumentException"><paramref name="schema"/> is null or empty.</exception>
    public string ConnectionStringFor(string schema)
    {
        ArgumentException.ThrowIfNullOrEmpty(schema);
        return new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = schema }.ConnectionString;
    }

    /// <summary>
    /// A fresh database on the process's shared server, which the first call starts:
    /// <see cref="PostgresTestServer.GetSharedAsync(CancellationToken)"/> then
    /// <see cref="PostgresTestServer.CreateDatabaseAsync(string, CancellationToken)"/>.
    /// </summary>
    /// <param name="prefix">Readable part of the name, usually the test class's name.</param>
    /// <param name="cancellationToken">Abandons the wait.</param>
    /// <returns>The database; dispose it to drop it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="prefix"/> is null.</exception>
    /// <exception cref="InvalidOperationException">No server could be started; the message says why and what to do.</exception>
    public static async Task<PostgresTestDatabase> CreateAsync(string prefix = "test", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var server = await PostgresTestServer.GetSharedAsync(cancellationToken).ConfigureAwait(false);
        return await server.CreateDatabaseAsync(prefix, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Drops the database, ending any session still connected to it (<c>DROP DATABASE … WITH (FORCE)</c>), and
    /// disposes <see cref="DataSource"/>. The server keeps running for the other classes. A second call does nothing.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await DataSource.DisposeAsync().ConfigureAwait(false);
            // Pools the code under test made from ConnectionString would otherwise hold connections that FORCE ends
            // and that then fail on their next use; a cleared pool opens none.
            var connection = new NpgsqlConnection(ConnectionString);
            NpgsqlConnection.ClearPool(connection);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            // Whatever happened to the pools, the database goes: a test run must not leave databases behind.
            await Server.ExecuteAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", CancellationToken.None).ConfigureAwait(false);
        }
    }
}
