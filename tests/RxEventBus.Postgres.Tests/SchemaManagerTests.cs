using Npgsql;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Postgres.Tests;

// One schema for the class; each test works on tables of its own name in it. The Verify tests are in
// SchemaManagerTests.Verify.cs.
[Collection(SharedPostgres.Name)]
public sealed partial class SchemaManagerTests(PostgresFixture fixture) : IAsyncLifetime
{
    // The events table of the seed's event_bus_postgres (its Ecto migration): varchar topics, bytea data,
    // times as bigint, ttl as integer.
    private const string SeedColumns = """
        id uuid PRIMARY KEY, transaction_id uuid, topic varchar(255) NOT NULL, data bytea,
        initialized_at bigint, occurred_at bigint, source varchar(255), ttl integer
        """;

    // The events table as created before expires_at (and the dead-letter table) existed.
    private const string ColumnsWithoutExpiresAt = """
        id uuid PRIMARY KEY, transaction_id uuid NULL, topic text NOT NULL, data bytea NOT NULL,
        initialized_at timestamptz NULL, occurred_at timestamptz NULL, source text NULL, ttl interval NULL
        """;

    // The events table as it was before tx and position (the previous shape), for tests of one difference from it
    // and of the migration to the current shape.
    private const string PreviousColumns = ColumnsWithoutExpiresAt + ", expires_at timestamptz NULL";

    private string _schema = "";

    public async Task InitializeAsync() => _schema = await fixture.CreateSchemaAsync(nameof(SchemaManagerTests));

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task EnsureSchemaAsync_RunTwice_IsIdempotentAndCreatesTheIndexes()
    {
        var table = new EventTable(_schema, "events");

        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);
        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

        (await IndexesAsync(table.Table)).Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["events_pkey"] = "btree (id)",
            ["events_occurred_at_idx"] = "btree (occurred_at)",
            ["events_transaction_id_idx"] = "btree (transaction_id) WHERE (transaction_id IS NOT NULL)",
            ["events_expires_at_idx"] = "brin (expires_at) WITH (autosummarize='on')",
            ["events_tx_position_idx"] = "btree (tx, \"position\")",
        });
    }

    [Theory]
    [InlineData(IndexLayout.Full, new[]
    {
        "events_pkey: btree (id)", "events_occurred_at_idx: btree (occurred_at)", "events_topic_idx: btree (topic)",
        "events_transaction_id_idx: btree (transaction_id)", "events_expires_at_idx: btree (expires_at)",
        "events_tx_position_idx: btree (tx, \"position\")",
    })]
    [InlineData(IndexLayout.Minimal, new[] { "events_pkey: btree (id)", "events_expires_at_idx: brin (expires_at) WITH (autosummarize='on')", "events_tx_position_idx: btree (tx, \"position\")" })]
    public async Task EnsureSchemaAsync_IndexLayout_CreatesTheLayoutsIndexes(IndexLayout layout, string[] expected)
    {
        var table = new EventTable(_schema, "events_" + layout.ToString().ToLowerInvariant(), new EventTableDesign { Indexes = layout });

        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

        (await IndexesAsync(table.Table)).Select(i => $"{i.Key.Replace(table.Table, "events", StringComparison.Ordinal)}: {i.Value}")
            .Should().BeEquivalentTo(expected);
    }

    [Fact]
    public async Task EnsureSchemaAsync_TableOfALargerLayout_KeepsItsIndexesAndAddsNothing()
    {
        var full = new EventTable(_schema, "events_was_full", new EventTableDesign { Indexes = IndexLayout.Full });
        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, full);
        var before = await IndexesAsync(full.Table);

        var report = await SchemaManager.EnsureSchemaAsync(fixture.DataSource, new EventTable(_schema, full.Table, new EventTableDesign { Indexes = IndexLayout.Minimal }));

        report.Changes.Should().BeEmpty("every index the minimal layout names is there (a B-tree serves what a BRIN index would)");
        (await IndexesAsync(full.Table)).Should().BeEquivalentTo(before, "the library never drops an index");
    }

    [Fact]
    public async Task EnsureSchemaAsync_SchemaDoesNotExist_CreatesSchemaAndTable()
    {
        var table = new EventTable(_schema + "_new", "audit_events");
        try
        {
            var report = await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

            (await TestRows.CountAsync(fixture.DataSource, table)).Should().Be(0);
            (await IndexesAsync(table.Table, table.Schema)).Keys.Should().Contain("audit_events_occurred_at_idx");
            report.Changes.Should().StartWith($"created schema {table.Schema}", "the schema is created first, and said so");
        }
        finally
        {
            await ExecuteAsync($"DROP SCHEMA IF EXISTS \"{table.Schema}\" CASCADE");
        }
    }

    [Fact]
    public async Task EnsureSchemaAsync_NewTable_CreatesBothTablesWithTheColumnsTheConsumerWrites()
    {
        var table = new EventTable(_schema, "fresh");

        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

        (await ColumnsAsync(table.QualifiedName)).Should().Equal(
            [.. EventTable.Columns.Split(", "), "tx", "position"], "COPY names EventTable.Columns; tx and position fill themselves");
        (await ColumnsAsync(table.DeadLettersQualifiedName)).Should().Equal(
            EventTable.DeadLetterColumns.Split(", "), "the dead-letter INSERT names EventTable.DeadLetterColumns");
        (await IndexesAsync(table.DeadLettersTable)).Should().BeEquivalentTo(
            new Dictionary<string, string>
            {
                ["fresh_dead_letters_pkey"] = "btree (id)",
                ["fresh_last_failed_at_dl_idx"] = "btree (last_failed_at DESC)",
                ["fresh_topic_dl_idx"] = "btree (topic)",
            },
            "dead letters are listed newest first or by topic, and stored again with ON CONFLICT (id)");
    }

    [Fact]
    public async Task EnsureSchemaAsync_NewTable_ReportsWhatItCreatedThenNothing()
    {
        var table = new EventTable(_schema, "reported");

        var first = await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);
        var second = await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

        first.Changes.Should().Equal(
            [
                $"created table {table.QualifiedName}",
                "created index reported_occurred_at_idx",
                "created index reported_transaction_id_idx",
                "created index reported_expires_at_idx",
                "created index reported_tx_position_idx",
                $"created table {table.DeadLettersQualifiedName}",
                "created index reported_last_failed_at_dl_idx",
                "created index reported_topic_dl_idx",
                $"created table {table.SubscriptionsQualifiedName}",
            ],
            "the schema existed; the tables and their indexes did not");
        second.Changes.Should().BeEmpty("everything was in place");
        first.Warnings.Concat(second.Warnings).Should().BeEmpty("EnsureSchemaAsync creates every index it would warn about");
    }

    [Fact]
    public async Task EnsureSchemaAsync_TableWithoutExpiresAt_AddsColumnAndIndexOnceThenReportsNothing()
    {
        var table = new EventTable(_schema, "older");
        await CreateTableAsync(table.QualifiedName, ColumnsWithoutExpiresAt);

        var first = await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);
        var second = await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

        first.Changes.Should().ContainInOrder(
            [$"added column expires_at (timestamptz NULL) to {table.QualifiedName}", "created index older_expires_at_idx"],
            "the index on expires_at needs the column, so it comes after it");
        first.Changes.Should().Contain($"created table {table.DeadLettersQualifiedName}", "the older version had no dead-letter table");
        second.Changes.Should().BeEmpty("the first run fixed everything");
        (await TestEvents.InsertAsync(fixture.DataSource, table, TestEvents.Create("orders", TestEvents.T0)))
            .Should().Be(1, "the consumer's COPY now finds every column it writes");
    }

    [Fact]
    public async Task EnsureSchemaAsync_TablesWithOnlyTheRequiredColumns_AddsEveryOtherColumnKeepingTheRows()
    {
        var table = new EventTable(_schema, "bare");
        await CreateTableAsync(table.QualifiedName, "id uuid PRIMARY KEY, topic text NOT NULL, data bytea NOT NULL");
        await CreateTableAsync(table.DeadLettersQualifiedName, """
            id uuid PRIMARY KEY, topic text NOT NULL, reason text NOT NULL, error_type text NOT NULL,
            first_failed_at timestamptz NOT NULL, last_failed_at timestamptz NOT NULL
            """);
        await ExecuteAsync($"""
            INSERT INTO {table.QualifiedName} VALUES (gen_random_uuid(), 'orders', '1');
            INSERT INTO {table.DeadLettersQualifiedName} VALUES (gen_random_uuid(), 'orders', 'refused', '22P02', now(), now());
            """);

        var report = await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

        report.Changes.Should().Contain(
            [
                $"added column transaction_id (uuid NULL) to {table.QualifiedName}",
                $"added column initialized_at (timestamptz NULL) to {table.QualifiedName}",
                $"added column occurred_at (timestamptz NULL) to {table.QualifiedName}",
                $"added column source (text NULL) to {table.QualifiedName}",
                $"added column ttl (interval NULL) to {table.QualifiedName}",
                $"added column expires_at (timestamptz NULL) to {table.QualifiedName}",
                $"added column data (bytea NULL) to {table.DeadLettersQualifiedName}",
                $"added column data_type (text NULL) to {table.DeadLettersQualifiedName}",
                $"added column attempts (integer NOT NULL DEFAULT 1) to {table.DeadLettersQualifiedName}",
            ],
            "every column that can be NULL or has a default can be added to a table holding rows");
        (await ColumnsAsync(table.DeadLettersQualifiedName)).Should().BeEquivalentTo(
            EventTable.DeadLetterColumns.Split(", "), "the dead-letter INSERT finds every column it names");
        (await ScalarAsync<int>($"SELECT attempts FROM {table.DeadLettersQualifiedName}")).Should().Be(1, "the default fills the rows already there");
        (await TestEvents.InsertAsync(fixture.DataSource, table, TestEvents.Create("orders", TestEvents.T0))).Should().Be(1);
        (await TestRows.CountAsync(fixture.DataSource, table)).Should().Be(2, "adding columns keeps the rows already there");
    }

    [Fact]
    public async Task EnsureSchemaAsync_AcceptedVariations_AddsTheMissingColumnAndWrites()
    {
        // What a DBA may reasonably have: varchar for text, a unique index instead of a primary key, extra
        // columns that fill themselves (identity, default) or may stay NULL.
        var table = new EventTable(_schema, "variant");
        await CreateTableAsync(table.QualifiedName, """
            position bigint GENERATED ALWAYS AS IDENTITY, id uuid NOT NULL, transaction_id uuid, topic varchar NOT NULL,
            data bytea NOT NULL, initialized_at timestamptz, occurred_at timestamptz, source character varying, ttl interval,
            stored_at timestamptz NOT NULL DEFAULT now(), note text
            """);
        await ExecuteAsync($"CREATE UNIQUE INDEX variant_id_key ON {table.QualifiedName} (id)");

        var report = await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

        report.Changes.Should().Contain($"added column expires_at (timestamptz NULL) to {table.QualifiedName}");
        var stored = TestEvents.Create("orders", TestEvents.T0);
        (await TestEvents.InsertAsync(fixture.DataSource, table, stored)).Should().Be(1, "the extra columns fill themselves");
        (await ScalarAsync<int>($"""
            WITH again AS (INSERT INTO {table.QualifiedName} (id, topic, data) VALUES ('{stored.Id}', 'orders', '1')
                           ON CONFLICT (id) DO NOTHING RETURNING 1)
            SELECT count(*)::int FROM again
            """)).Should().Be(0, "the unique index on id serves ON CONFLICT (id)");
    }

    [Fact]
    public async Task EnsureSchemaAsync_SeedTable_ThrowsNamingEachColumnWithBothTypesAndChangesNothing()
    {
        var table = new EventTable(_schema, "seed");

        var error = await EnsureRefusesAsync(table, SeedColumns);

        error.Table.Should().Be(table.QualifiedName);
        error.Differences.Should().BeEquivalentTo(
            [
                "Column topic has type character varying(255), expected text or character varying.",
                "Column initialized_at has type bigint, expected timestamp with time zone.",
                "Column occurred_at has type bigint, expected timestamp with time zone.",
                "Column source has type character varying(255), expected text or character varying.",
                "Column ttl has type integer, expected interval.",
            ],
            "each column the consumer cannot write as it is, with the type found and the type expected");
        error.Message.Should().StartWith($"The persistence consumer cannot write to {table.QualifiedName}:\n", "the first line names the table")
            .And.Contain("- Column occurred_at has type bigint, expected timestamp with time zone.\n", "each difference has a line")
            .And.EndWith("Migrate the table (docs/schema.sql shows the expected definition) or point EB_PG_TABLE at a new table.",
                "the message ends with what to do");
        (await ColumnsAsync(table.QualifiedName)).Should().NotContain("expires_at", "a table that cannot be fixed is not half-fixed");
        (await ExistsAsync(table.DeadLettersQualifiedName)).Should().BeFalse("nothing is created beside a table that cannot be fixed");
    }

    [Theory]
    [InlineData("json")]
    [InlineData("jsonb")]
    public async Task EnsureSchemaAsync_DataOfAnotherPayloadType_ThrowsNamingTheOptionAndTheColumnsType(string type)
    {
        var table = new EventTable(_schema, "data_" + type);

        var error = await EnsureRefusesAsync(table, PreviousColumns.Replace("data bytea", "data " + type, StringComparison.Ordinal));

        error.Differences.Should().Equal(
            [$"Column data has type {type}, expected bytea: the payload type (PayloadType, EB_PG_PAYLOAD_TYPE) is bytea; set it to {type} to write to this column as it is."],
            "the writer sends the configured type's format, and the option that would match the table is named");
    }

    [Theory]
    [InlineData(PayloadType.Json, "jsonb")]
    [InlineData(PayloadType.Bytea, "json")]
    [InlineData(PayloadType.Jsonb, "bytea")]
    public async Task EnsureSchemaAsync_ExistingTableOfAnotherPayloadType_ThrowsAndChangesNothing(PayloadType configured, string existing)
    {
        var existingType = Enum.GetValues<PayloadType>().Single(p => p.ToString().Equals(existing, StringComparison.OrdinalIgnoreCase));
        var name = $"made_{existing}_as_{configured.ToString().ToLowerInvariant()}";
        var made = new EventTable(_schema, name, new EventTableDesign { Payload = existingType });
        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, made);

        var act = () => SchemaManager.EnsureSchemaAsync(fixture.DataSource, new EventTable(_schema, name, new EventTableDesign { Payload = configured }));

        var expected = configured.ToString().ToLowerInvariant();
        var error = (await act.Should().ThrowAsync<SchemaMismatchException>()).Which;
        error.Differences.Should().Equal(
            [$"Column data has type {existing}, expected {expected}: the payload type (PayloadType, EB_PG_PAYLOAD_TYPE) is {expected}; set it to {existing} to write to this column as it is."],
            "a table made with one payload type is not written with another: the writer would send the wrong format");
        (await ScalarAsync<string>($"SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '{made.QualifiedName}'::regclass AND attname = 'data'"))
            .Should().Be(existing, "the column is never changed");
        var verify = () => SchemaManager.VerifySchemaAsync(fixture.DataSource, new EventTable(_schema, name, new EventTableDesign { Payload = configured }));
        (await verify.Should().ThrowAsync<SchemaMismatchException>()).Which.Differences.Should().Equal(error.Differences, "the check without EnsureSchema says the same");
    }

    [Fact]
    public async Task EnsureSchemaAsync_DataOfATypeNoPayloadTypeWrites_ThrowsNamingTheChoices()
    {
        var table = new EventTable(_schema, "data_text");

        var error = await EnsureRefusesAsync(table, PreviousColumns.Replace("data bytea", "data text", StringComparison.Ordinal));

        error.Differences.Should().Equal(
            ["Column data has type text, expected bytea: the payload type (PayloadType, EB_PG_PAYLOAD_TYPE) is bytea, and the library writes only jsonb, json or bytea: migrate the column to one of them."]);
    }

    [Theory]
    [InlineData("id")]
    [InlineData("topic")]
    [InlineData("data")]
    public async Task EnsureSchemaAsync_RequiredColumnMissing_Throws(string column)
    {
        var table = new EventTable(_schema, "without_" + column);
        var columns = string.Join(", ", PreviousColumns.Split(',').Select(c => c.Trim()).Where(c => !c.StartsWith(column + " ", StringComparison.Ordinal)));

        var error = await EnsureRefusesAsync(table, columns);

        error.Differences.Should().ContainSingle(
            d => d.StartsWith($"Column {column} (", StringComparison.Ordinal) && d.Contains("is missing, and it cannot be added", StringComparison.Ordinal),
            "a NOT NULL column cannot be added to a table that may hold rows");
        (await ExistsAsync(table.DeadLettersQualifiedName)).Should().BeFalse("nothing is created beside a table that cannot be fixed");
    }

    [Theory]
    [InlineData("transaction_id")]
    [InlineData("initialized_at")]
    [InlineData("occurred_at")]
    [InlineData("source")]
    [InlineData("ttl")]
    [InlineData("expires_at")]
    public async Task EnsureSchemaAsync_ColumnTheConsumerWritesNullIntoIsNotNull_Throws(string column)
    {
        var table = new EventTable(_schema, "strict_" + column);

        var error = await EnsureRefusesAsync(table, PreviousColumns, $"ALTER TABLE {table.QualifiedName} ALTER COLUMN {column} SET NOT NULL");

        error.Differences.Should().Equal(
            [$"Column {column} is NOT NULL, but the consumer writes NULL into it when it has no value for it."],
            "every event without that value would be refused");
    }

    [Fact]
    public async Task EnsureSchemaAsync_ExtraNotNullColumnWithoutDefault_Throws()
    {
        var table = new EventTable(_schema, "extra");

        var error = await EnsureRefusesAsync(table, PreviousColumns + ", tenant text NOT NULL");

        error.Differences.Should().Equal(
            ["Column tenant is NOT NULL and has no default, but the consumer does not write it, so every row would be refused."],
            "COPY writes only the consumer's columns");
    }

    [Fact]
    public async Task EnsureSchemaAsync_ExpectedColumnIsGenerated_Throws()
    {
        var table = new EventTable(_schema, "generated");

        var error = await EnsureRefusesAsync(
            table, PreviousColumns.Replace("source text NULL", "source text GENERATED ALWAYS AS (topic) STORED", StringComparison.Ordinal));

        error.Differences.Should().Equal(
            ["Column source is a generated column, but the consumer writes its value."], "COPY refuses a value for a generated column");
    }

    [Theory]
    [InlineData("none", "id uuid NOT NULL", "")]
    [InlineData("composite", "id uuid NOT NULL", "CREATE UNIQUE INDEX ON {table} (id, topic)")]
    [InlineData("partial", "id uuid NOT NULL", "CREATE UNIQUE INDEX ON {table} (id) WHERE topic <> ''")]
    [InlineData("deferrable", "id uuid PRIMARY KEY DEFERRABLE", "")]
    public async Task EnsureSchemaAsync_NoUniqueKeyOnIdAlone_Throws(string kind, string id, string index)
    {
        var table = new EventTable(_schema, "key_" + kind);

        var error = await EnsureRefusesAsync(
            table, PreviousColumns.Replace("id uuid PRIMARY KEY", id, StringComparison.Ordinal), index.Replace("{table}", table.QualifiedName, StringComparison.Ordinal));

        error.Differences.Should().Equal(
            ["There is no primary key or unique index on id alone, which the consumer's INSERT … ON CONFLICT (id) needs."],
            $"a {kind} key cannot be the arbiter of ON CONFLICT (id), which idempotent rewrites use");
    }

    [Fact]
    public async Task EnsureSchemaAsync_RelationIsAView_Throws()
    {
        var table = new EventTable(_schema, "view");
        var source = new EventTable(_schema, "view_source");
        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, source);
        await ExecuteAsync($"CREATE VIEW {table.QualifiedName} AS SELECT * FROM {source.QualifiedName}");

        var error = await MismatchAsync(() => SchemaManager.EnsureSchemaAsync(fixture.DataSource, table));

        error.Differences.Should().Equal([$"Table {table.QualifiedName} is a view, not a table."], "COPY cannot write into a view");
    }

    [Fact]
    public async Task EnsureSchemaAsync_FixableAndUnfixableDifferences_ChangesNothing()
    {
        var table = new EventTable(_schema, "mixed");

        var error = await EnsureRefusesAsync(
            table, ColumnsWithoutExpiresAt.Replace("occurred_at timestamptz", "occurred_at bigint", StringComparison.Ordinal));

        error.Differences.Should().Equal(["Column occurred_at has type bigint, expected timestamp with time zone."]);
        (await ColumnsAsync(table.QualifiedName)).Should().NotContain("expires_at", "the column that could be added was not, since the table stays unusable");
        (await IndexesAsync(table.Table)).Keys.Should().Equal(["mixed_pkey"], "no index was created");
        (await ExistsAsync(table.DeadLettersQualifiedName)).Should().BeFalse("the dead-letter table was not created either");
    }

    [Fact]
    public async Task EnsureSchemaAsync_DeadLetterTableOfAnotherShape_ThrowsNamingItAndCreatesNothing()
    {
        var table = new EventTable(_schema, "letters");
        await CreateTableAsync(table.DeadLettersQualifiedName, "id uuid PRIMARY KEY, topic text NOT NULL, data jsonb, reason text NOT NULL");

        var error = await MismatchAsync(() => SchemaManager.EnsureSchemaAsync(fixture.DataSource, table));

        var context = $"In the dead-letter table {table.DeadLettersQualifiedName}, ";
        error.Differences.Should().BeEquivalentTo(
            [
                context + "column error_type (text NOT NULL) is missing, and it cannot be added without a value for the rows already there.",
                context + "column first_failed_at (timestamptz NOT NULL) is missing, and it cannot be added without a value for the rows already there.",
                context + "column last_failed_at (timestamptz NOT NULL) is missing, and it cannot be added without a value for the rows already there.",
                context + "column data has type jsonb, expected bytea.",
            ],
            "the dead-letter table is checked against its own columns");
        (await ExistsAsync(table.QualifiedName)).Should().BeFalse("the events table is not created beside a dead-letter table that cannot be used");
    }

    [Fact]
    public async Task EnsureSchemaAsync_IndexNameTakenByAnotherRelation_WarnsAndCreatesTheRest()
    {
        var table = new EventTable(_schema, "taken");
        var other = new EventTable(_schema, "taken_other");
        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, other);
        await ExecuteAsync($"CREATE INDEX taken_transaction_id_idx ON {other.QualifiedName} (transaction_id)");

        var report = await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

        report.Warnings.Should().Equal(
            ["index taken_transaction_id_idx was not created because another relation in the schema has that name: writes work, but finding events by transaction id is slow without it."],
            "CREATE INDEX IF NOT EXISTS skipped it with only a notice");
        report.Changes.Should().NotContain("created index taken_transaction_id_idx").And.Contain("created index taken_expires_at_idx");
    }

    [Fact]
    public async Task EnsureSchemaAsync_ManyProcessesStartTogether_AllSucceed()
    {
        // Without the advisory lock, concurrent CREATE TABLE IF NOT EXISTS / CREATE INDEX IF NOT EXISTS fail
        // on the catalogs' unique indexes ("duplicate key value violates unique constraint"). A race is not
        // lost every time, so there are several tables, each created by eight starters at once.
        var tables = Enumerable.Range(0, 10).Select(i => new EventTable(_schema, $"together_{i}")).ToList();

        foreach (var table in tables)
        {
            await StartTogetherAsync(table, 8);
        }

        foreach (var table in tables)
        {
            (await IndexesAsync(table.Table)).Should().HaveCount(5);
        }
    }

    [Fact]
    public async Task EnsureSchemaAsync_ManyProcessesStartTogetherOnATableLackingAColumn_AllSucceedAndOneAddsIt()
    {
        var tables = Enumerable.Range(0, 5).Select(i => new EventTable(_schema, $"lacking_{i}")).ToList();
        foreach (var table in tables)
        {
            await CreateTableAsync(table.QualifiedName, ColumnsWithoutExpiresAt);
        }

        foreach (var table in tables)
        {
            var reports = await StartTogetherAsync(table, 8);

            reports.Where(r => r.Changes.Contains($"added column expires_at (timestamptz NULL) to {table.QualifiedName}"))
                .Should().ContainSingle("the starters queue on the lock, and the later ones find the column there");
            (await ColumnsAsync(table.QualifiedName)).Should().Contain("expires_at");
        }
    }

    [Fact]
    public async Task EnsureSchemaAsync_Cancelled_Throws()
    {
        var table = new EventTable(_schema, "cancelled");

        var ensure = () => SchemaManager.EnsureSchemaAsync(fixture.DataSource, table, new CancellationToken(canceled: true));

        await ensure.Should().ThrowAsync<OperationCanceledException>();
    }

    private static async Task<SchemaMismatchException> MismatchAsync(Func<Task> act) =>
        (await act.Should().ThrowAsync<SchemaMismatchException>("the consumer could not write to the table as it is")).Which;

    // Creates the events table with `columns` (then runs `alter`, if any), and EnsureSchemaAsync must refuse it.
    private async Task<SchemaMismatchException> EnsureRefusesAsync(EventTable table, string columns, string alter = "")
    {
        await CreateTableAsync(table.QualifiedName, columns);
        if (alter.Length > 0)
        {
            await ExecuteAsync(alter);
        }

        return await MismatchAsync(() => SchemaManager.EnsureSchemaAsync(fixture.DataSource, table));
    }

    private async Task<SchemaReport[]> StartTogetherAsync(EventTable table, int starters)
    {
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var starts = Enumerable.Range(0, starters).Select(async _ =>
        {
            await go.Task;
            return await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);
        }).ToList();
        go.SetResult();
        return await Task.WhenAll(starts);
    }

    private Task CreateTableAsync(string qualifiedName, string columns) => ExecuteAsync($"CREATE TABLE {qualifiedName} ({columns})");

    private async Task ExecuteAsync(string sql)
    {
        await using var command = fixture.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var command = fixture.DataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private async Task<bool> ExistsAsync(string qualifiedName)
    {
        await using var command = fixture.DataSource.CreateCommand("SELECT to_regclass($1) IS NOT NULL");
        command.Parameters.AddWithValue(qualifiedName);
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    // The table's columns, in their order.
    private async Task<List<string>> ColumnsAsync(string qualifiedName)
    {
        await using var command = fixture.DataSource.CreateCommand(
            "SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum");
        command.Parameters.AddWithValue(qualifiedName);
        return await ReadStringsAsync(command);
    }

    private static async Task<List<string>> ReadStringsAsync(NpgsqlCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }

    // index name → its column list, from pg_indexes, for a table in the class's schema unless told.
    private async Task<Dictionary<string, string>> IndexesAsync(string table, string? schema = null)
    {
        await using var command = fixture.DataSource.CreateCommand(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2");
        command.Parameters.AddWithValue(schema ?? _schema);
        command.Parameters.AddWithValue(table);
        await using var reader = await command.ExecuteReaderAsync();
        var indexes = new Dictionary<string, string>();
        while (await reader.ReadAsync())
        {
            var definition = reader.GetString(1);
            indexes[reader.GetString(0)] = definition[(definition.IndexOf(" USING ", StringComparison.Ordinal) + 7)..];
        }

        return indexes;
    }
}
