using Npgsql;

namespace RxEventBus.Postgres.Tests.Support;

// An events table with what subscriptions read: until the schema manager creates them, the position and tx
// columns, their index and the checkpoint table are added here.
internal static class LogTables
{
    internal static async Task<EventTable> CreateAsync(PostgresFixture fixture, string prefix)
    {
        var table = await TestEvents.CreateTableAsync(fixture, prefix);
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(
            $"""
            CREATE SEQUENCE IF NOT EXISTS "{table.Schema}"."{table.Table}_position_seq";
            ALTER TABLE {table.QualifiedName} ADD COLUMN IF NOT EXISTS position bigint NULL DEFAULT nextval('"{table.Schema}"."{table.Table}_position_seq"'::regclass);
            ALTER TABLE {table.QualifiedName} ADD COLUMN IF NOT EXISTS tx xid8 NOT NULL DEFAULT pg_current_xact_id();
            CREATE INDEX IF NOT EXISTS "{table.Table}_tx_position_idx" ON {table.QualifiedName} (tx, position);
            CREATE TABLE IF NOT EXISTS "{table.Schema}"."{table.Table}_subscriptions" (
                name text PRIMARY KEY, tx xid8 NOT NULL, position bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
            """,
            connection);
        await command.ExecuteNonQueryAsync();
        return table;
    }
}
