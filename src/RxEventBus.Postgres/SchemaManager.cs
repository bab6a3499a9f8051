using Dapper;
using Npgsql;

namespace RxEventBus.Postgres;

/// <summary>
/// Creates the events table where the consumer runs with <see cref="PostgresPersistenceOptions.EnsureSchema"/>
/// on. A DBA who runs <c>docs/schema.sql</c> instead turns that option off, so the application's role needs no
/// CREATE privilege.
/// </summary>
public static class SchemaManager
{
    /// <summary>
    /// Runs <see cref="EventTable.CreateScript"/> in one transaction that first takes a transaction-scoped
    /// advisory lock keyed on the table's qualified name. <c>CREATE … IF NOT EXISTS</c> is not safe against a
    /// concurrent creator (both pass the check, one fails on the catalog's unique index), so processes that
    /// start together queue on the lock instead; the lock is released by the commit.
    /// </summary>
    /// <param name="dataSource">Where the table lives.</param>
    /// <param name="table">The table to create, with its indexes, if missing.</param>
    /// <param name="cancellationToken">Cancels the wait for the lock and the DDL.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="NpgsqlException">The connection or the DDL failed (for example the role may not
    /// create the schema or the table).</exception>
    public static async Task EnsureSchemaAsync(NpgsqlDataSource dataSource, EventTable table, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(table);

        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                // hashtextextended (PostgreSQL 11+) turns the name into the bigint key on the server, so every
                // client, whatever its language, derives the same key from the same name.
                await connection.ExecuteAsync(new CommandDefinition(
                    "SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))",
                    new { key = LockKey(table) },
                    transaction,
                    cancellationToken: cancellationToken)).ConfigureAwait(false);
                await connection.ExecuteAsync(new CommandDefinition(
                    table.CreateScript,
                    transaction: transaction,
                    cancellationToken: cancellationToken)).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    internal static string LockKey(EventTable table) => "RxEventBus.Postgres schema " + table.QualifiedName;
}
