using Npgsql;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Postgres.Tests;

// The log's position (issue 12, docs/adr/0004): tx and position on the events table, their index, the
// subscriptions' checkpoint table, and the migration of a table of the previous shape without a rewrite.
public sealed partial class SchemaManagerTests
{
    [Fact]
    public async Task EnsureSchemaAsync_NewTable_HasTxPositionTheirIndexAndTheCheckpointTable()
    {
        var table = new EventTable(_schema, "logged");

        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

        (await ColumnDefinitionsAsync(table.QualifiedName)).Should().Contain(
            [
                ("tx", "xid8", true, "pg_current_xact_id()"),
                ("position", "bigint", false, $"nextval('{_schema}.{table.PositionSequence}'::regclass)"),
            ],
            "every writer's rows get the writing transaction and a number from the sequence");
        (await ScalarAsync<string>($"SELECT pg_get_serial_sequence('{table.QualifiedName}', 'position')"))
            .Should().Be($"{_schema}.{table.PositionSequence}", "the sequence is owned by the column, and goes with the table");
        (await IndexesAsync(table.Table)).Should().Contain("logged_tx_position_idx", "btree (tx, \"position\")");
        (await ColumnDefinitionsAsync(table.SubscriptionsQualifiedName)).Should().Equal(
            [
                ("name", "text", true, null),
                ("tx", "xid8", true, null),
                ("position", "bigint", true, null),
                ("updated_at", "timestamp with time zone", true, "now()"),
            ],
            "a checkpoint is a subscription name and the (tx, position) of the last row it handled");
        (await IndexesAsync(table.SubscriptionsTable)).Should().Equal(
            new Dictionary<string, string> { ["logged_subscriptions_pkey"] = "btree (name)" }, "one checkpoint per name");
        table.NotificationChannel.Should().Be($"{_schema}.logged");
    }

    [Fact]
    public async Task EnsureSchemaAsync_NewTable_PositionSequenceCachesAThousandValuesPerSession()
    {
        var table = new EventTable(_schema, "cached");

        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

        (await SequenceCacheAsync(table)).Should().Be(1000, "uncached, every row's nextval locks the sequence's buffer and every 32nd writes WAL");
        (await SchemaManager.VerifySchemaAsync(fixture.DataSource, table)).Warnings.Should().BeEmpty();
    }

    [Fact]
    public async Task EnsureSchemaAsync_PositionSequenceWithoutCache_SetsTheCacheWithoutTouchingTheTableThenReportsNothing()
    {
        // A table made by the first version with a position: its sequence was created without CACHE.
        var table = await EnsuredThenAsync("uncached", t => $"ALTER SEQUENCE {t.QuotedPositionSequence} CACHE 1");
        await ExecuteAsync($"INSERT INTO {table.QualifiedName} (id, topic, data) SELECT gen_random_uuid(), 'orders', '1' FROM generate_series(1, 3)");
        var fileNode = await FileNodeAsync(table);

        var verified = await SchemaManager.VerifySchemaAsync(fixture.DataSource, table);
        var first = await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);
        var second = await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

        verified.Warnings.Should().Equal(
            [
                $"sequence {table.QuotedPositionSequence} caches 1 value(s) per session: writes work, but each row's position costs more " +
                $"than with CACHE 1000 (ALTER SEQUENCE {table.QuotedPositionSequence} CACHE 1000, as docs/schema.sql creates it).",
            ],
            "Verify changes nothing, but says what costs the writer");
        first.Changes.Should().Equal([$"set the cache of sequence {table.QuotedPositionSequence} to 1000 values (was 1)"]);
        second.Changes.Should().BeEmpty("the first run set it");
        (await SequenceCacheAsync(table)).Should().Be(1000);
        (await FileNodeAsync(table)).Should().Be(fileNode, "the table is not touched (only the sequence's one row is)");

        await ExecuteAsync($"INSERT INTO {table.QualifiedName} (id, topic, data) VALUES (gen_random_uuid(), 'orders', '1')");
        var rows = await PositionsAsync(table);
        rows.Select(r => r.Position).Should().OnlyHaveUniqueItems().And.HaveCount(4);
        rows[3].Position.Should().BeGreaterThan(rows[2].Position!.Value, "the sequence goes on from where it was");
    }

    [Fact]
    public async Task EnsureSchemaAsync_PositionSequenceWithALargerCache_LeavesIt()
    {
        var table = await EnsuredThenAsync("more_cached", t => $"ALTER SEQUENCE {t.QuotedPositionSequence} CACHE 5000");

        (await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table)).Changes.Should().BeEmpty("a DBA's larger cache is kept");
        (await SequenceCacheAsync(table)).Should().Be(5000);
    }

    [Fact]
    public async Task EnsureSchemaAsync_TableOfThePreviousShape_AddsTxAndPositionWithoutRewriteAndNumbersEveryOldRow()
    {
        // More rows than one backfill transaction numbers, so the backfill takes several.
        const int OldRows = (2 * SchemaManager.FillBatchSize) + 500;
        var table = new EventTable(_schema, "previous");
        await CreateTableAsync(table.QualifiedName, PreviousColumns);
        await ExecuteAsync($"""
            INSERT INTO {table.QualifiedName} (id, topic, data, occurred_at)
            SELECT gen_random_uuid(), 'orders', convert_to(jsonb_build_object('n', g)::text, 'UTF8'), now() FROM generate_series(1, {OldRows}) g
            """);
        var fileNode = await FileNodeAsync(table);

        var report = await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

        (await FileNodeAsync(table)).Should().Be(fileNode, "neither the ALTERs nor the backfill rewrote the table");
        report.Changes.Should().ContainInOrder(
            [
                $"added column tx (xid8 NOT NULL DEFAULT pg_current_xact_id()) to {table.QualifiedName}",
                $"added column position (bigint NULL DEFAULT nextval('{table.QuotedPositionSequence}'::regclass)) to {table.QualifiedName}",
                "created index previous_tx_position_idx",
                $"filled position of {OldRows} rows of {table.QualifiedName} written before the column existed",
            ],
            "the columns, then their index, and after the commit the numbering of the old rows");
        var old = await PositionsAsync(table);
        old.Should().HaveCount(OldRows).And.OnlyContain(r => r.Position != null, "no old row is left without a position");
        old.Select(r => r.Position).Should().OnlyHaveUniqueItems("each row has its own place in the log");
        old.Select(r => r.Tx).Distinct().Should().ContainSingle("the old rows all read the ALTER's transaction");
        (await HasUnpositionedRowsAsync(table)).Should().BeFalse();

        await TestEvents.InsertAsync(fixture.DataSource, table, TestEvents.Create("orders", TestEvents.T0), TestEvents.Create("orders", TestEvents.T0));

        var newer = (await PositionsAsync(table)).Where(r => !old.Contains(r)).ToList();
        newer.Should().HaveCount(2).And.OnlyContain(
            r => r.Tx > old[0].Tx && r.Position > old.Max(o => o.Position),
            "a row written after the migration sorts after every old row, by tx and by position");
        (await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table)).Changes.Should().BeEmpty("the first run did everything");
    }

    [Fact]
    public async Task HasUnpositionedRowsAsync_PositionAddedByHand_IsTrueUntilEnsureSchemaAsyncNumbersTheOldRows()
    {
        var table = new EventTable(_schema, "by_hand");
        await CreateTableAsync(table.QualifiedName, PreviousColumns);
        await ExecuteAsync($"INSERT INTO {table.QualifiedName} (id, topic, data) SELECT gen_random_uuid(), 'orders', '1' FROM generate_series(1, 3)");
        // What a DBA migrating by hand would run, without the backfill.
        await ExecuteAsync($"""
            ALTER TABLE {table.QualifiedName} ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
            CREATE SEQUENCE {table.QuotedPositionSequence};
            ALTER TABLE {table.QualifiedName} ADD COLUMN position bigint NULL;
            ALTER TABLE {table.QualifiedName} ALTER COLUMN position SET DEFAULT nextval('{table.QuotedPositionSequence}'::regclass);
            """);
        (await HasUnpositionedRowsAsync(table)).Should().BeTrue("the old rows have no position yet");

        // A transaction that had its xid before the ALTER and inserts after it has a smaller tx than the old rows':
        // the check must still find them.
        await ExecuteAsync($"INSERT INTO {table.QualifiedName} (id, topic, data, tx) VALUES (gen_random_uuid(), 'orders', '1', '3'::xid8)");
        (await HasUnpositionedRowsAsync(table)).Should().BeTrue("the old rows are found by the ALTER's xid, not only by the smallest tx");

        var report = await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

        report.Changes.Should().Contain($"filled position of 3 rows of {table.QualifiedName} written before the column existed");
        (await HasUnpositionedRowsAsync(table)).Should().BeFalse();
        (await ScalarAsync<long>($"SELECT count(*) FROM {table.QualifiedName} WHERE position IS NULL")).Should().Be(0);
    }

    [Fact]
    public async Task EnsureSchemaAsync_StartersTogetherOnOldRows_NumberEachRowOnceBetweenThem()
    {
        const int OldRows = 30_000;
        var table = new EventTable(_schema, "numbered_together");
        await CreateTableAsync(table.QualifiedName, PreviousColumns);
        await ExecuteAsync($"INSERT INTO {table.QualifiedName} (id, topic, data) SELECT gen_random_uuid(), 'orders', '1' FROM generate_series(1, {OldRows})");
        await ExecuteAsync($"""
            ALTER TABLE {table.QualifiedName} ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
            CREATE SEQUENCE {table.QuotedPositionSequence};
            ALTER TABLE {table.QualifiedName} ADD COLUMN position bigint NULL;
            ALTER TABLE {table.QualifiedName} ALTER COLUMN position SET DEFAULT nextval('{table.QuotedPositionSequence}'::regclass);
            """);

        var reports = await StartTogetherAsync(table, 4);

        var filled = reports.SelectMany(r => r.Changes).Where(c => c.StartsWith("filled position of ", StringComparison.Ordinal))
            .Sum(c => int.Parse(c.Split(' ')[3], System.Globalization.CultureInfo.InvariantCulture));
        filled.Should().Be(OldRows, "the starters share the rows (SKIP LOCKED), and each row is numbered by one of them");
        var rows = await PositionsAsync(table);
        rows.Should().OnlyContain(r => r.Position != null);
        rows.Select(r => r.Position).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task EnsuredTable_PlainInsertsByAnotherProgram_GetTxAndPositionOneTxPerTransaction()
    {
        var table = new EventTable(_schema, "plain");
        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, table);

        // Not our writer: plain SQL, naming none of tx and position.
        await using (var connection = await fixture.DataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using var insert = new NpgsqlCommand(
                $"INSERT INTO {table.QualifiedName} (id, topic, data) SELECT gen_random_uuid(), 'first', '1' FROM generate_series(1, 3)", connection, transaction);
            await insert.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        }

        await ExecuteAsync($"INSERT INTO {table.QualifiedName} (id, topic, data) VALUES (gen_random_uuid(), 'second', '1')");

        var rows = await PositionsAsync(table);
        rows.Should().HaveCount(4).And.OnlyContain(r => r.Position != null, "the column's default numbers every row");
        rows.Select(r => r.Position).Should().OnlyHaveUniqueItems();
        rows.Take(3).Select(r => r.Tx).Distinct().Should().ContainSingle("the rows of one transaction share its xid");
        rows[3].Tx.Should().BeGreaterThan(rows[0].Tx, "a later transaction has a larger xid");
    }

    [Fact]
    public async Task VerifySchemaAsync_TableOfThePreviousShape_ReportsTxPositionAndTheCheckpointTableMissing()
    {
        var table = await EnsuredThenAsync("unmigrated", t => $"""
            DROP TABLE {t.SubscriptionsQualifiedName};
            ALTER TABLE {t.QualifiedName} DROP COLUMN position, DROP COLUMN tx;
            """);

        var error = await VerifyRefusesAsync(table);

        error.Differences.Should().Equal(
            [
                "Column tx (xid8 NOT NULL DEFAULT pg_current_xact_id()) is missing.",
                $"Column position (bigint NULL DEFAULT nextval('{table.QuotedPositionSequence}'::regclass)) is missing.",
                $"The subscriptions table {table.SubscriptionsQualifiedName} does not exist.",
            ],
            "Verify may not add them");
        error.Message.Should().EndWith(CreateRemedy, "EnsureSchemaAsync or docs/schema.sql would add them");
    }

    [Fact]
    public async Task VerifySchemaAsync_RowsWithoutPosition_WarnsThatSubscriptionsWaitForThem()
    {
        // Rows as a migration by hand leaves them: in the oldest transaction, not numbered yet.
        var table = await EnsuredThenAsync("unnumbered", t => $"""
            INSERT INTO {t.QualifiedName} (id, topic, data) SELECT gen_random_uuid(), 'orders', '1' FROM generate_series(1, 2);
            UPDATE {t.QualifiedName} SET position = NULL;
            """);
        (await HasUnpositionedRowsAsync(table)).Should().BeTrue();
        (await ScalarAsync<long>($"SELECT count(*) FROM {table.QualifiedName} WHERE position IS NULL")).Should().Be(2);

        var report = await SchemaManager.VerifySchemaAsync(fixture.DataSource, table);

        report.Warnings.Should().ContainSingle().Which.Should().StartWith(
            "some rows written before the position column existed have no position yet", "writes work, but a subscription cannot order those rows");
    }

    [Fact]
    public async Task VerifySchemaAsync_IndexOnTxPositionMissing_Warns()
    {
        var table = await EnsuredThenAsync("unordered", t => $"DROP INDEX {t.Schema}.unordered_tx_position_idx");

        var report = await SchemaManager.VerifySchemaAsync(fixture.DataSource, table);

        report.Warnings.Should().Equal(
            ["index unordered_tx_position_idx is missing: writes work, but reading the events in order (subscriptions) is slow without it."]);
    }

    [Theory]
    [InlineData("tx", "DROP DEFAULT", "Column tx has no default, but every row needs one and the consumer does not write it: expected DEFAULT pg_current_xact_id().")]
    [InlineData("tx", "SET DEFAULT '0'::xid8", "Column tx has the default '0'::xid8, expected pg_current_xact_id().")]
    [InlineData("position", "DROP DEFAULT", "Column position has no default, but every row needs one and the consumer does not write it: expected DEFAULT nextval('{sequence}'::regclass).")]
    public async Task EnsureSchemaAsync_TxOrPositionWithoutItsDefault_Throws(string column, string change, string expected)
    {
        var table = await EnsuredThenAsync("undefaulted_" + column + change.Length, t => $"ALTER TABLE {t.QualifiedName} ALTER COLUMN {column} {change}");

        var error = await MismatchAsync(() => SchemaManager.EnsureSchemaAsync(fixture.DataSource, table));

        error.Differences.Should().Equal(
            [expected.Replace("{sequence}", table.QuotedPositionSequence, StringComparison.Ordinal)],
            "a row without its transaction or its number has no place in the subscriptions' order");
    }

    private Task<bool> HasUnpositionedRowsAsync(EventTable table) => WithConnectionAsync(c => SchemaManager.HasUnpositionedRowsAsync(c, table, CancellationToken.None));

    private async Task<T> WithConnectionAsync<T>(Func<NpgsqlConnection, Task<T>> use)
    {
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        return await use(connection);
    }

    private Task<long> SequenceCacheAsync(EventTable table) =>
        ScalarAsync<long>($"SELECT seqcache FROM pg_sequence WHERE seqrelid = '{table.QuotedPositionSequence}'::regclass");

    private Task<uint> FileNodeAsync(EventTable table) => ScalarAsync<uint>($"SELECT pg_relation_filenode('{table.QualifiedName}')::oid");

    // (tx, position) of every row, in that order; tx as a number.
    private async Task<List<(ulong Tx, long? Position)>> PositionsAsync(EventTable table)
    {
        await using var command = fixture.DataSource.CreateCommand(
            $"SELECT tx::text::numeric::bigint, position FROM {table.QualifiedName} ORDER BY tx, position");
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(ulong, long?)>();
        while (await reader.ReadAsync())
        {
            rows.Add(((ulong)reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetInt64(1)));
        }

        return rows;
    }

    // name, type, NOT NULL, default, of each column in order.
    private async Task<List<(string Name, string Type, bool NotNull, string? Default)>> ColumnDefinitionsAsync(string qualifiedName)
    {
        await using var command = fixture.DataSource.CreateCommand("""
            SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
            FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
            """);
        command.Parameters.AddWithValue(qualifiedName);
        await using var reader = await command.ExecuteReaderAsync();
        var columns = new List<(string, string, bool, string?)>();
        while (await reader.ReadAsync())
        {
            columns.Add((reader.GetString(0), reader.GetString(1), reader.GetBoolean(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return columns;
    }
}
