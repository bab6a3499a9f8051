using Npgsql;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Embedded;
using RxEventBus.Testing.Postgres.Internal;

namespace RxEventBus.Testing.Postgres;

/// <summary>
/// The one PostgreSQL server of a test process, shared by every test class in it: the server named by
/// <see cref="DatabaseUrlVariable"/> when that is set, otherwise a throwaway cluster
/// (<see cref="EmbeddedPostgres"/>) started from the machine's PostgreSQL binaries on first use. Each test class
/// takes its own database from it with <see cref="CreateDatabaseAsync(string, CancellationToken)"/> (or
/// <see cref="PostgresTestDatabase.CreateAsync(string, CancellationToken)"/>), so classes run in parallel
/// without seeing each other's tables.
/// </summary>
/// <remarks>
/// <para>Nothing here depends on a test framework: xunit, NUnit and MSTest call the same async methods from their
/// own setup and teardown hooks.</para>
/// <para>The throwaway cluster lives until the process exits normally (then it is stopped and its folder removed)
/// or until <see cref="ShutdownAsync"/>, for a framework with an assembly-wide teardown. Starting it takes about a
/// second, once per process.</para>
/// <para>With <see cref="DatabaseUrlVariable"/>, its user must be allowed to create databases (<c>CREATEDB</c>),
/// the server must be PostgreSQL 13 or later (databases are dropped <c>WITH (FORCE)</c>), and the database the
/// URL names is only connected to, never changed.</para>
/// </remarks>
public sealed class PostgresTestServer
{
    /// <summary>
    /// The environment variable naming an existing server to test against: a
    /// <c>postgres://user:password@host:port/database</c> URL or an Npgsql connection string.
    /// </summary>
    public const string DatabaseUrlVariable = "RXEB_TEST_DATABASE_URL";

    private static readonly SemaphoreSlim SharedGate = new(1, 1);
    private static PostgresTestServer? _shared;

    private PostgresTestServer(string connectionString, EmbeddedPostgres? embedded)
    {
        ConnectionString = connectionString;
        Embedded = embedded;
    }

    /// <summary>
    /// Npgsql connection string of the server's maintenance database (the throwaway cluster's <c>postgres</c>, or
    /// the database <see cref="DatabaseUrlVariable"/> names), as a user who may create databases.
    /// </summary>
    public string ConnectionString { get; }

    /// <summary>The throwaway cluster; null when the server comes from <see cref="DatabaseUrlVariable"/>.</summary>
    public EmbeddedPostgres? Embedded { get; }

    /// <summary>The server's log, to attach to a failed test; null when the server is not ours.</summary>
    public string? LogPath => Embedded?.LogPath;

    /// <summary>
    /// The process's server: started (or connected to, with <see cref="DatabaseUrlVariable"/>) by the first
    /// call, the same object for every later one. Safe to call from several test classes at once.
    /// </summary>
    /// <param name="cancellationToken">Abandons the wait; a start already under way goes on for the next caller.</param>
    /// <returns>The shared server.</returns>
    /// <exception cref="InvalidOperationException">
    /// No server could be started; the message says what is missing (PostgreSQL's binaries, the <c>postgres</c> OS
    /// user when running as root) and how to point the tests at an existing server instead.
    /// </exception>
    public static async Task<PostgresTestServer> GetSharedAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _shared) is { } shared)
        {
            return shared;
        }

        await SharedGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _shared ??= await StartAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            SharedGate.Release();
        }
    }

    /// <summary>
    /// Stops the process's throwaway cluster now and removes its folder, rather than at process exit; the next
    /// <see cref="GetSharedAsync(CancellationToken)"/> starts a new one. For an assembly-wide teardown (MSTest's
    /// <c>[AssemblyCleanup]</c>, NUnit's <c>[OneTimeTearDown]</c> in a <c>[SetUpFixture]</c>); not needed otherwise.
    /// With <see cref="DatabaseUrlVariable"/>, only forgets the server. Databases still in use fail from then on.
    /// </summary>
    /// <exception cref="EmbeddedPostgresException">The cluster could not be stopped or its folder removed.</exception>
    public static async Task ShutdownAsync()
    {
        await SharedGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (Interlocked.Exchange(ref _shared, null)?.Embedded is { } embedded)
            {
                NpgsqlConnection.ClearAllPools();
                await embedded.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            SharedGate.Release();
        }
    }

    /// <summary>
    /// Creates a new, empty database on this server, named <c>{prefix}_{8 random characters}</c> in lower case.
    /// Call it once per test class; dispose what it returns when the class is done, which drops the database.
    /// </summary>
    /// <param name="prefix">Readable part of the name, usually the test class's name; anything but ASCII letters,
    /// digits and underscores is left out.</param>
    /// <param name="cancellationToken">Abandons the command.</param>
    /// <returns>The database, with its connection string and a data source over it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="prefix"/> is null.</exception>
    public async Task<PostgresTestDatabase> CreateDatabaseAsync(string prefix = "test", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var name = DatabaseNames.Unique(prefix);
        await ExecuteAsync($"CREATE DATABASE {name}", cancellationToken).ConfigureAwait(false);
        var connectionString = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
        return new PostgresTestDatabase(this, name, connectionString);
    }

    /// <summary>The last lines of the server's log, or a note saying there is none to read.</summary>
    /// <param name="maxLines">How many lines at most.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLines"/> is not positive.</exception>
    public string ReadLogTail(int maxLines = 100) =>
        Embedded?.ReadLogTail(maxLines) ?? $"(no server log: the server comes from {DatabaseUrlVariable})";

    internal async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        // A plain connection, not a pool: CREATE and DROP DATABASE are rare, and no idle connection is left
        // on the maintenance database to get in the way of anyone else's DROP DATABASE.
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var command = new NpgsqlCommand(sql, connection);
            await using (command.ConfigureAwait(false))
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // An existing server named by RXEB_TEST_DATABASE_URL; a value that is no URL or connection string fails as a
    // server that cannot be had does, naming what is wrong and never the password (DatabaseUrl's rule).
    internal static PostgresTestServer FromUrl(string url)
    {
        try
        {
            return new PostgresTestServer(DatabaseUrl.ToConnectionString(url), embedded: null);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"{DatabaseUrlVariable} is not a usable database URL: {e.Message}", e);
        }
    }

    private static async Task<PostgresTestServer> StartAsync(CancellationToken cancellationToken)
    {
        var url = Environment.GetEnvironmentVariable(DatabaseUrlVariable);
        if (!string.IsNullOrWhiteSpace(url))
        {
            return FromUrl(url);
        }

        try
        {
            // EmbeddedPostgres stops and removes itself when the process exits normally.
            var embedded = await EmbeddedPostgres.StartAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return new PostgresTestServer(embedded.ConnectionString, embedded);
        }
        catch (EmbeddedPostgresException e)
        {
            throw new InvalidOperationException(
                $"{e.Message}\nOr point the tests at an existing server: {DatabaseUrlVariable}=postgres://user:password@host:5432/database (a user who may create databases).",
                e);
        }
    }
}
