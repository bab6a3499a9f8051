using System.Collections.Concurrent;
using Npgsql;
using RxEventBus.Postgres;

namespace RxEventBus.Postgres.Tests.Support;

/// <summary>
/// TEMPORARY: the database comes from RXEB_TEST_DATABASE_URL only. To be replaced by a fixture that starts a
/// throwaway cluster when the variable is unset; keep this surface (ConnectionString, DataSource,
/// CreateSchemaAsync) so the tests do not change.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private const string Variable = "RXEB_TEST_DATABASE_URL";
    private readonly ConcurrentQueue<string> _schemas = new();

    /// <summary>Reads the connection string; fails every test of the collection, saying why, when it is unset.</summary>
    public PostgresFixture()
    {
        var url = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(url))
        {
            throw new InvalidOperationException(
                $"{Variable} is not set. Point it at a database the tests may create schemas in, e.g. " +
                $"export {Variable}='Host=127.0.0.1;Port=5432;Username=postgres;Database=rxeventbus_test'.");
        }

        ConnectionString = url;
        DataSource = NpgsqlDataSource.Create(url);
    }

    /// <summary>The Npgsql connection string of the test database.</summary>
    public string ConnectionString { get; }

    /// <summary>A data source over <see cref="ConnectionString"/>, shared by the collection.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>Creates a schema no other test uses, named <paramref name="prefix"/>_&lt;random&gt;; dropped when the run ends.</summary>
    public async Task<string> CreateSchemaAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 13)].ToLowerInvariant();
        _ = new EventTable(name, "unused"); // refuses a prefix that would not make a plain identifier
        await using var command = DataSource.CreateCommand($"CREATE SCHEMA \"{name}\"");
        await command.ExecuteNonQueryAsync();
        _schemas.Enqueue(name);
        return name;
    }

    /// <inheritdoc/>
    public Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        foreach (var schema in _schemas)
        {
            await using var command = DataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
            await command.ExecuteNonQueryAsync();
        }

        await DataSource.DisposeAsync();
    }
}

/// <summary>The test classes that use the database.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresDatabase : ICollectionFixture<PostgresFixture>
{
    /// <summary>The collection's name, for <c>[Collection(PostgresDatabase.Name)]</c>.</summary>
    public const string Name = "Postgres";
}
