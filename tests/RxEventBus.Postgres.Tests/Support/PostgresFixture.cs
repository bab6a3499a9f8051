using Npgsql;

namespace RxEventBus.Postgres.Tests.Support;

// TEMPORARY: replaced by the embedded-cluster fixture when that branch lands.
public sealed class PostgresFixture
{
    public string ConnectionString { get; } = Environment.GetEnvironmentVariable("RXEB_TEST_DATABASE_URL")
        ?? throw new InvalidOperationException("RXEB_TEST_DATABASE_URL");

    public async Task<string> CreateSchemaAsync(string prefix = "test")
    {
        var schema = prefix.ToLowerInvariant() + "_" + Guid.NewGuid().ToString("N")[..8];
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"create schema {schema}", connection);
        await command.ExecuteNonQueryAsync();
        return schema;
    }
}

[CollectionDefinition(Name)]
public sealed class SharedPostgres : ICollectionFixture<PostgresFixture>
{
    public const string Name = "Postgres";
}
