using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Postgres.Tests;

[Collection(SharedPostgres.Name)]
public sealed class SchemaManagerTests(PostgresFixture fixture)
{
    [Fact]
    public async Task EnsureSchemaAsync_RunTwice_IsIdempotentAndCreatesTheIndexes()
    {
        var table = new EventTable(await fixture.CreateSchemaAsync("schema"), "events");

        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);
        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

        (await IndexesAsync(table)).Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["events_pkey"] = "(id)",
            ["events_occurred_at_idx"] = "(occurred_at DESC)",
            ["events_topic_idx"] = "(topic)",
            ["events_transaction_id_idx"] = "(transaction_id)",
            ["events_expires_at_idx"] = "(expires_at)",
        });
    }

    [Fact]
    public async Task EnsureSchemaAsync_SchemaDoesNotExist_CreatesSchemaAndTable()
    {
        var schema = await fixture.CreateSchemaAsync("schema");
        var table = new EventTable(schema + "_new", "audit_events");
        try
        {
            await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

            (await TestRows.CountAsync(fixture.DataSource, table)).Should().Be(0);
            (await IndexesAsync(table)).Keys.Should().Contain("audit_events_occurred_at_idx");
        }
        finally
        {
            await using var drop = fixture.DataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{table.Schema}\" CASCADE");
            await drop.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task EnsureSchemaAsync_ManyProcessesStartTogether_AllSucceed()
    {
        // Without the advisory lock, concurrent CREATE TABLE IF NOT EXISTS / CREATE INDEX IF NOT EXISTS fail
        // on the catalogs' unique indexes ("duplicate key value violates unique constraint"). A race is not
        // lost every time, so there are several tables, each created by eight starters at once.
        var schema = await fixture.CreateSchemaAsync("schema");
        var tables = Enumerable.Range(0, 10).Select(i => new EventTable(schema, $"events_{i}")).ToList();

        foreach (var table in tables)
        {
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var starts = Enumerable.Range(0, 8).Select(async _ =>
            {
                await go.Task;
                await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);
            }).ToList();
            go.SetResult();
            await Task.WhenAll(starts);
        }

        foreach (var table in tables)
        {
            (await IndexesAsync(table)).Should().HaveCount(5);
        }
    }

    [Fact]
    public async Task EnsureSchemaAsync_Cancelled_Throws()
    {
        var table = new EventTable(await fixture.CreateSchemaAsync("schema"), "events");

        var ensure = () => SchemaManager.EnsureSchemaAsync(fixture.DataSource, table, new CancellationToken(canceled: true));

        await ensure.Should().ThrowAsync<OperationCanceledException>();
    }

    // index name → its column list, from pg_indexes.
    private async Task<Dictionary<string, string>> IndexesAsync(EventTable table)
    {
        await using var command = fixture.DataSource.CreateCommand(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2");
        command.Parameters.AddWithValue(table.Schema);
        command.Parameters.AddWithValue(table.Table);
        await using var reader = await command.ExecuteReaderAsync();
        var indexes = new Dictionary<string, string>();
        while (await reader.ReadAsync())
        {
            var definition = reader.GetString(1);
            indexes[reader.GetString(0)] = definition[definition.LastIndexOf('(')..];
        }

        return indexes;
    }
}
