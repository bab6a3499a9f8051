using Npgsql;

namespace RxEventBus.Postgres.Tests;

// VerifySchemaAsync: for a consumer with EnsureSchema off, under a role that may not change the schema.
public sealed partial class SchemaManagerTests
{
    private const string CreateRemedy =
        "Run docs/schema.sql (with this schema and table name) or turn EnsureSchema on (EB_PG_ENSURE_SCHEMA=true) so the consumer creates what is missing.";

    private const string MigrateRemedy = "Migrate the table (docs/schema.sql shows the expected definition) or point EB_PG_TABLE at a new table.";

    [Fact]
    public async Task VerifySchemaAsync_LeastPrivilegeRole_SeesColumnsAndIndexesInTheCatalogs()
    {
        var table = await EnsuredThenAsync("granted", t => $"DROP INDEX {t.Schema}.granted_transaction_id_idx");
        var role = "rxeb_verify_" + _schema[^8..];
        // The GRANTs docs/schema.sql gives, for this schema and table.
        await ExecuteAsync($"""
            CREATE ROLE {role} LOGIN;
            GRANT USAGE ON SCHEMA {_schema} TO {role};
            GRANT SELECT, INSERT, DELETE ON TABLE {table.QualifiedName} TO {role};
            GRANT USAGE ON SEQUENCE {table.Schema}.{table.PositionSequence} TO {role};
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {table.DeadLettersQualifiedName} TO {role};
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {table.SubscriptionsQualifiedName} TO {role};
            """);
        try
        {
            await using var dataSource = NpgsqlDataSource.Create(
                new NpgsqlConnectionStringBuilder(fixture.ConnectionString) { Username = role, Pooling = false }.ConnectionString);

            var report = await SchemaManager.VerifySchemaAsync(dataSource, table);

            report.Warnings.Should().Equal(
                ["index granted_transaction_id_idx is missing: writes work, but finding events by transaction id is slow without it."],
                "the role sees every column, type and index in the catalogs, so only the index dropped is reported");
        }
        finally
        {
            await ExecuteAsync($"DROP OWNED BY {role}; DROP ROLE {role}");
        }
    }

    [Fact]
    public async Task VerifySchemaAsync_NoTables_ThrowsSayingRunSchemaSqlOrTurnEnsureSchemaOn()
    {
        var table = new EventTable(_schema, "absent");

        var error = await VerifyRefusesAsync(table);

        error.Differences.Should().Equal(
            [
                $"Table {table.QualifiedName} does not exist.",
                $"The dead-letter table {table.DeadLettersQualifiedName} does not exist.",
                $"The subscriptions table {table.SubscriptionsQualifiedName} does not exist.",
            ],
            "Verify may not create them");
        error.Message.Should().EndWith(CreateRemedy, "creating the tables is the fix").And.NotContain("Migrate", "there is nothing to migrate");
        (await ExistsAsync(table.QualifiedName)).Should().BeFalse("Verify creates nothing");
    }

    [Fact]
    public async Task VerifySchemaAsync_DeadLetterTableMissing_Throws()
    {
        var table = await EnsuredThenAsync("no_letters", t => $"DROP TABLE {t.DeadLettersQualifiedName}");

        var error = await VerifyRefusesAsync(table);

        error.Differences.Should().Equal(
            [$"The dead-letter table {table.DeadLettersQualifiedName} does not exist."], "dead letters could not be stored");
        error.Message.Should().EndWith(CreateRemedy);
    }

    [Fact]
    public async Task VerifySchemaAsync_NullableColumnMissing_ThrowsAndAddsNothing()
    {
        var table = await EnsuredThenAsync("no_expiry", t => $"ALTER TABLE {t.QualifiedName} DROP COLUMN expires_at");

        var error = await VerifyRefusesAsync(table);

        error.Differences.Should().Equal(["Column expires_at (timestamptz NULL) is missing."], "Verify may not add it");
        error.Message.Should().EndWith(CreateRemedy, "EnsureSchemaAsync or docs/schema.sql would add it");
        (await ColumnsAsync(table.QualifiedName)).Should().NotContain("expires_at", "Verify changes nothing");
    }

    [Fact]
    public async Task VerifySchemaAsync_SecondaryIndexMissing_WarnsAndChangesNothing()
    {
        var table = await EnsuredThenAsync("unindexed", t => $"DROP INDEX {t.Schema}.unindexed_transaction_id_idx; DROP INDEX {t.Schema}.unindexed_last_failed_at_dl_idx");

        var report = await SchemaManager.VerifySchemaAsync(fixture.DataSource, table);

        report.Warnings.Should().Equal(
            [
                "index unindexed_transaction_id_idx is missing: writes work, but finding events by transaction id is slow without it.",
                "index unindexed_last_failed_at_dl_idx is missing: writes work, but listing the newest dead letters is slow without it.",
            ],
            "writes work without a secondary index, so it is a warning, not an error");
        report.Changes.Should().BeEmpty();
        (await IndexesAsync(table.Table)).Keys.Should().NotContain("unindexed_transaction_id_idx", "Verify creates nothing");
    }

    [Fact]
    public async Task VerifySchemaAsync_WrongTypeAndMissingColumn_ThrowsWithBothRemedies()
    {
        var table = await EnsuredThenAsync("retyped", t => $"""
            ALTER TABLE {t.QualifiedName} ALTER COLUMN occurred_at TYPE timestamp without time zone;
            ALTER TABLE {t.DeadLettersQualifiedName} DROP COLUMN data_type;
            """);

        var error = await VerifyRefusesAsync(table);

        error.Differences.Should().Equal(
            [
                "Column occurred_at has type timestamp without time zone, expected timestamp with time zone.",
                $"In the dead-letter table {table.DeadLettersQualifiedName}, column data_type (text NULL) is missing.",
            ],
            "what needs a migration comes first, then what EnsureSchemaAsync would add");
        error.Message.Should().EndWith(MigrateRemedy + "\n" + CreateRemedy, "each kind of difference has its own fix");
    }

    // Creates the tables, then runs `alter` on them.
    private async Task<EventTable> EnsuredThenAsync(string name, Func<EventTable, string> alter)
    {
        var table = new EventTable(_schema, name);
        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);
        await ExecuteAsync(alter(table));
        return table;
    }

    private Task<SchemaMismatchException> VerifyRefusesAsync(EventTable table) =>
        MismatchAsync(() => SchemaManager.VerifySchemaAsync(fixture.DataSource, table));
}
