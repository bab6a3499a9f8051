using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using RxEventBus.Postgres.Embedded;
using Xunit.Abstractions;

namespace RxEventBus.Postgres.Tests.Support;

// Linked (not copied) into every Postgres test project, which needs RxEventBus.Postgres,
// RxEventBus.Postgres.Embedded and Npgsql, and marks its classes [Collection(SharedPostgres.Name)].

/// <summary>
/// The database for Postgres integration tests. With <c>RXEB_TEST_DATABASE_URL</c> set (a
/// <c>postgres://user:password@host:port/database</c> URL or an Npgsql connection string), that database is
/// used; otherwise one throwaway cluster (<see cref="EmbeddedPostgres"/>) is started for the whole test
/// assembly and removed when the last user of it is done.
/// </summary>
/// <remarks>
/// Each test class takes its own schema from <see cref="CreateSchemaAsync(string, CancellationToken)"/>
/// and connects with <see cref="ConnectionStringFor(string)"/>, so classes never see each other's tables
/// and can share one server. Tests that stop or crash the server (fault tests) start their own
/// <see cref="EmbeddedPostgres"/> instead of using this shared one.
/// </remarks>
public sealed class PostgresFixture : IAsyncLifetime
{
    /// <summary>The environment variable naming an existing database to test against.</summary>
    public const string DatabaseUrlVariable = "RXEB_TEST_DATABASE_URL";

    // One server per test assembly, whichever way xunit builds fixtures: as a collection fixture there is
    // one user; as a class fixture, classes running in parallel share it and the last one out stops it.
    private static readonly SemaphoreSlim ServerGate = new(1, 1);
    private static EmbeddedPostgres? _sharedServer;
    private static int _sharedServerUsers;

    private readonly ConcurrentQueue<string> _schemas = new();

    /// <summary>Npgsql connection string of the database, as the superuser, with the default search path.</summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>The throwaway cluster; null when the database comes from <see cref="DatabaseUrlVariable"/>.</summary>
    public EmbeddedPostgres? Server { get; private set; }

    /// <summary>The server's log to attach to failures; null when the database is not ours.</summary>
    public string? LogPath => Server?.LogPath;

    /// <summary>A pooled data source over <see cref="ConnectionString"/>, for the library code under test.</summary>
    public NpgsqlDataSource DataSource { get; private set; } = null!;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var url = Environment.GetEnvironmentVariable(DatabaseUrlVariable);
        if (!string.IsNullOrWhiteSpace(url))
        {
            ConnectionString = DatabaseUrl.ToConnectionString(url);
        }
        else
        {
            Server = await AcquireServerAsync();
            ConnectionString = Server.ConnectionString;
        }

        DataSource = NpgsqlDataSource.Create(ConnectionString);
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        await DataSource.DisposeAsync();
        if (Server is null)
        {
            // Someone else's database: leave it as it was found.
            await DropSchemasAsync();
            return;
        }

        Server = null;
        await ReleaseServerAsync();
    }

    /// <summary>
    /// Creates a schema no other test class or test run uses, named <c>{prefix}_{8 random characters}</c> in
    /// lower case. Call it once per test class (for example in its <c>InitializeAsync</c>).
    /// </summary>
    /// <param name="prefix">Readable part of the name, usually the test class's name.</param>
    /// <param name="cancellationToken">Abandons the command.</param>
    /// <returns>The schema's name, safe to write into SQL unquoted.</returns>
    public async Task<string> CreateSchemaAsync(string prefix = "test", CancellationToken cancellationToken = default)
    {
        // Only [a-z0-9_], starting with a letter: the name never needs quoting, in SQL or in a search path.
        var readable = new string(prefix.ToLowerInvariant().Where(static c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_').Take(40).ToArray());
        if (readable.Length == 0 || !char.IsAsciiLetterLower(readable[0]))
        {
            readable = "t" + readable;
        }

        var schema = $"{readable}_{RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 8)}";
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"create schema {schema}", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        _schemas.Enqueue(schema);
        return schema;
    }

    /// <summary>The connection string with <paramref name="schema"/> as the search path: unqualified names land there.</summary>
    public string ConnectionStringFor(string schema) =>
        new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = schema }.ConnectionString;

    /// <summary>The last lines of the server's log, or a note saying there is none to read.</summary>
    public string ReadLogTail(int maxLines = 100) =>
        Server?.ReadLogTail(maxLines) ?? $"(no server log: the database comes from {DatabaseUrlVariable})";

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



    private static async Task<EmbeddedPostgres> AcquireServerAsync()
    {
        await ServerGate.WaitAsync();
        try
        {
            if (_sharedServer is null)
            {
                try
                {
                    _sharedServer = await EmbeddedPostgres.StartAsync();
                }
                catch (EmbeddedPostgresException e)
                {
                    throw new InvalidOperationException(
                        $"{e.Message}\nOr point the tests at an existing database: {DatabaseUrlVariable}=postgres://user:password@host:5432/database",
                        e);
                }
            }

            _sharedServerUsers++;
            return _sharedServer;
        }
        finally
        {
            ServerGate.Release();
        }
    }

    private static async Task ReleaseServerAsync()
    {
        await ServerGate.WaitAsync();
        try
        {
            if (--_sharedServerUsers == 0 && _sharedServer is { } server)
            {
                _sharedServer = null;
                await server.DisposeAsync();
            }
        }
        finally
        {
            ServerGate.Release();
        }
    }

    private async Task DropSchemasAsync()
    {
        if (_schemas.IsEmpty)
        {
            return;
        }

        var sql = new StringBuilder();
        while (_schemas.TryDequeue(out var schema))
        {
            sql.Append("drop schema if exists ").Append(schema).Append(" cascade;");
        }

        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql.ToString(), connection);
        await command.ExecuteNonQueryAsync();
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

/// <summary>The shared database, for test classes that must run with no other test running.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class IsolatedPostgres : ICollectionFixture<PostgresFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Postgres, alone";
}
