using Npgsql;

namespace RxEventBus.Postgres;

/// <summary>TEMPORARY until the store branch lands.</summary>
public static class SchemaManager
{
    /// <summary>Creates the table.</summary>
    public static async Task EnsureSchemaAsync(NpgsqlDataSource dataSource, EventTable table, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(table);
        var command = dataSource.CreateCommand(table.CreateScript);
        await using (command.ConfigureAwait(false))
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
