using Npgsql;
using RxEventBus.Postgres.Embedded;
using RxEventBus.Testing.Postgres;
using Xunit.Abstractions;

namespace RxEventBus.Postgres.Tests.Support;

// Linked (not copied) into every Postgres test project, which references RxEventBus.Testing.Postgres and marks
// its classes [Collection(SharedPostgres.Name)]. The server, the databases and their cleanup are the shipped
// kit's (docs/postgres-tests.md); this file only fits it to xunit: a fixture, two collections, and the log
// written to a test's output.

/// <summary>
/// The database for Postgres integration tests: a fresh one on the process's <see cref="PostgresTestServer"/>
/// (the server <c>RXEB_TEST_DATABASE_URL</c> names, or a throwaway cluster started once per test process),
/// dropped when the fixture is disposed.
/// </summary>
/// <remarks>
/// Each test class takes its own schema from <see cref="CreateSchemaAsync(string, CancellationToken)"/>
/// and connects with <see cref="ConnectionStringFor(string)"/>, so classes never see each other's tables.
/// Tests that stop or crash the server (fault tests) start their own <see cref="EmbeddedPostgres"/> instead.
/// </remarks>
public sealed class PostgresFixture : IAsyncLifetime
{
    /// <summary>The environment variable naming an existing server to test against.</summary>
    public const string DatabaseUrlVariable = PostgresTestServer.DatabaseUrlVariable;

    private PostgresTestDatabase? _database;

    private PostgresTestDatabase Database => _database ?? throw new InvalidOperationException("The fixture is not initialized.");

    /// <summary>Npgsql connection string of the fixture's database, with the default search path.</summary>
    public string ConnectionString => Database.ConnectionString;

    /// <summary>The throwaway cluster; null when the server comes from <see cref="DatabaseUrlVariable"/>.</summary>
    public EmbeddedPostgres? Server => Database.Server.Embedded;

    /// <summary>The server's log to attach to failures; null when the server is not ours.</summary>
    public string? LogPath => Database.Server.LogPath;

    /// <summary>A pooled data source over <see cref="ConnectionString"/>, for the library code under test.</summary>
    public NpgsqlDataSource DataSource => Database.DataSource;

    /// <inheritdoc />
    public async Task InitializeAsync() => _database = await PostgresTestDatabase.CreateAsync("rxeb");

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    /// <inheritdoc cref="PostgresTestDatabase.CreateSchemaAsync(string, CancellationToken)"/>
    public Task<string> CreateSchemaAsync(string prefix = "test", CancellationToken cancellationToken = default) =>
        Database.CreateSchemaAsync(prefix, cancellationToken);

    /// <inheritdoc cref="PostgresTestDatabase.ConnectionStringFor(string)"/>
    public string ConnectionStringFor(string schema) => Database.ConnectionStringFor(schema);

    /// <summary>The last lines of the server's log, or a note saying there is none to read.</summary>
    public string ReadLogTail(int maxLines = 100) => Database.Server.ReadLogTail(maxLines);

    /// <summary>Writes the tail of the server's log to the test's output.</summary>
    public void WriteLogTo(ITestOutputHelper output, int maxLines = 100)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine($"--- {LogPath ?? "server log"} (last {maxLines} lines) ---");
        output.WriteLine(ReadLogTail(maxLines));
    }

    /// <summary>
    /// Runs a test body and, if it fails, attaches the tail of the server's log to the test's output before
    /// the failure is reported: <c>await fixture.AttachLogOnFailureAsync(output, async () =&gt; { … });</c>
    /// </summary>
    public async Task AttachLogOnFailureAsync(ITestOutputHelper output, Func<Task> test)
    {
        ArgumentNullException.ThrowIfNull(test);
        try
        {
            await test();
        }
        catch
        {
            WriteLogTo(output);
            throw;
        }
    }
}

/// <summary>
/// The test collection sharing <see cref="PostgresFixture"/>: mark a class <c>[Collection(SharedPostgres.Name)]</c>
/// and take the fixture in its constructor.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SharedPostgres : ICollectionFixture<PostgresFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Postgres";
}

/// <summary>The shared server, for test classes that must run with no other test running.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class IsolatedPostgres : ICollectionFixture<PostgresFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Postgres, alone";
}
