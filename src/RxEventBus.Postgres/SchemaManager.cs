using Dapper;
using Npgsql;
using RxEventBus.Postgres.Internal;

namespace RxEventBus.Postgres;

/// <summary>
/// Makes sure the events table and its dead-letter table are there in a shape the consumer can write to.
/// <see cref="EnsureSchemaAsync"/> creates what is missing, where the consumer runs with
/// <see cref="PostgresPersistenceOptions.EnsureSchema"/> on; <see cref="VerifySchemaAsync"/> only checks,
/// for a DBA who ran <c>docs/schema.sql</c> instead and turned that option off, so the application's role
/// needs no CREATE privilege. Either throws <see cref="SchemaMismatchException"/> for a table that would
/// otherwise make every batch fail and be retried forever.
/// </summary>
public static class SchemaManager
{
    private const string MigrateRemedy =
        "Migrate the table (docs/schema.sql shows the expected definition) or point EB_PG_TABLE at a new table.";

    private const string CreateRemedy =
        "Run docs/schema.sql (with this schema and table name) or turn EnsureSchema on (EB_PG_ENSURE_SCHEMA=true) " +
        "so the consumer creates what is missing.";

    /// <summary>
    /// Creates the schema, the events table, the dead-letter table and the subscriptions' checkpoint table if
    /// missing (<see cref="EventTable.CreateScript"/>); on an existing table, adds the columns it lacks that can
    /// be added to rows already there (<c>ALTER TABLE … ADD COLUMN IF NOT EXISTS</c>) and the indexes it lacks;
    /// and refuses a table that no such change can make writable. All in one transaction that first takes a
    /// transaction-scoped advisory lock keyed on the table's qualified name: <c>CREATE … IF NOT EXISTS</c> is not
    /// safe against a concurrent creator (both pass the check, one fails on the catalog's unique index), so
    /// processes that start together queue on the lock instead, and each finds what the one before it did; the
    /// lock is released by the commit.
    /// </summary>
    /// <remarks>
    /// <para>An events table from before subscriptions gets <c>tx</c> and <c>position</c> without being rewritten:
    /// <c>tx</c>'s default is STABLE, so every old row reads the xid of the ALTER; <c>position</c> is added as a
    /// NULL column, then given its default (<c>nextval</c> of <see cref="EventTable.PositionSequence"/>) for the
    /// rows to come. The index on <c>(tx, position)</c> is built by a plain <c>CREATE INDEX</c> in the same
    /// transaction, which blocks writes to the table while it reads the table once. A position sequence with a
    /// smaller cache than 1,000 values (created by the first version with a position) gets <c>ALTER SEQUENCE … CACHE
    /// 1000</c> (the sequence's one row is rewritten, not the table); <see cref="VerifySchemaAsync"/> warns about it instead.</para>
    /// <para>After that transaction commits, the old rows are numbered, about 10,000 rows per transaction (one
    /// range of blocks each, so the table is read once), while the writers go on; <see cref="SchemaReport.Changes"/> says how many. Each numbered row
    /// is updated once (a new row version: autovacuum reclaims the old ones). Until all are numbered, a
    /// subscription refuses to start.</para>
    /// </remarks>
    /// <param name="dataSource">Where the tables live.</param>
    /// <param name="table">The events table, whose dead-letter table is <see cref="EventTable.DeadLettersQualifiedName"/>.</param>
    /// <param name="cancellationToken">Cancels the wait for the lock and the DDL.</param>
    /// <returns>What was created or added, in <see cref="SchemaReport.Changes"/>; empty when all was in place.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="SchemaMismatchException">A table exists in a shape the consumer cannot write to (a
    /// missing <c>id</c>, <c>topic</c> or <c>data</c> column, a column of another type, a NOT NULL column the
    /// consumer fills with NULL or not at all, no unique key on <c>id</c> alone). Nothing was changed.</exception>
    /// <exception cref="NpgsqlException">The connection or the DDL failed (for example the role may not
    /// create the schema or the table).</exception>
    public static async Task<SchemaReport> EnsureSchemaAsync(NpgsqlDataSource dataSource, EventTable table, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(table);

        // hashtextextended (PostgreSQL 11+) turns the name into the bigint key on the server, so every client,
        // whatever its language, derives the same key from the same name.
        var report = await InTransactionAsync(
            dataSource,
            "SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))",
            new { key = LockKey(table) },
            (connection, transaction) => EnsureAsync(connection, transaction, table, cancellationToken),
            cancellationToken).ConfigureAwait(false);

        // After the DDL has committed, outside the lock: the backfill takes many transactions, and writers
        // (and other starters, which skip the rows this one holds) go on meanwhile.
        var filled = await FillPositionsAsync(dataSource, table, cancellationToken).ConfigureAwait(false);
        return filled == 0
            ? report
            : new SchemaReport(
                [.. report.Changes, $"filled position of {filled} rows of {table.QualifiedName} written before the column existed"],
                report.Warnings);
    }

    // About how many rows one backfill transaction numbers: short transactions, so the row locks and the fence
    // they hold (every transaction with an xid holds back the subscriptions' fence) stay brief.
    internal const int FillBatchSize = 10_000;

    // The rows that predate the position column: added without a rewrite, its value is NULL in each of them,
    // while tx, added the same way, reads the ALTER's xid in all of them (the "missing value" stored in
    // pg_attribute; after a rewrite such as VACUUM FULL it is stored in the rows and the catalog forgets it, but
    // then no row can have a smaller tx: that is what min(tx) covers). Naming both xids lets the (tx, position)
    // index find them, whatever the size of the table. A transaction that had its xid before the ALTER and
    // inserted after it has a smaller tx than the ALTER's, hence the missing value rather than min(tx) alone.
    private static string OldTransactions(EventTable table) => $"""
        (SELECT min(tx) FROM {table.QualifiedName}),
        (SELECT ((a.attmissingval::text)::xid8[])[1] FROM pg_attribute a
          WHERE a.attrelid = to_regclass(@name) AND a.attname = 'tx' AND a.atthasmissing)
        """;

    private static string UnpositionedCondition(EventTable table) => $"position IS NULL AND tx IN ({OldTransactions(table)})";

    /// <summary>
    /// Whether rows written before the <c>position</c> column was added still have no position (the backfill of
    /// <see cref="EnsureSchemaAsync"/> has not run, or not to its end). A subscription must not read while they
    /// do: the cursor (tx, position) cannot order a NULL. One index probe of <c>(tx, position)</c>.
    /// </summary>
    internal static Task<bool> HasUnpositionedRowsAsync(NpgsqlConnection connection, EventTable table, CancellationToken cancellationToken) =>
        HasUnpositionedRowsAsync(connection, null, table, cancellationToken);

    private static async Task<bool> HasUnpositionedRowsAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, EventTable table, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(table);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            $"SELECT EXISTS (SELECT 1 FROM {table.QualifiedName} WHERE {UnpositionedCondition(table)})",
            new { name = table.QualifiedName },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    // Numbers the rows that predate the position column, about FillBatchSize rows per transaction, until none is
    // left; returns how many this call numbered. The old rows' xids are read once (through the index); then the
    // table is walked once in ranges of blocks (a TID range scan, PostgreSQL 14+), so each transaction reads only
    // its own range: picking "the next 10,000 NULL rows" instead would read every row still to do (or every dead
    // version already done) again in each transaction, quadratic in the size of the table. Index scans are off in
    // these transactions for that reason. SKIP LOCKED: two starters number disjoint rows side by side; what one
    // skipped is swept at the end, waiting for the other's locks. The order among the old rows is the order of
    // the walk; once numbered it never changes. An UPDATE keeps tx as it is (a default applies to INSERT only), so
    // the old rows stay together, before every row written after the ALTER.
    private static async Task<long> FillPositionsAsync(NpgsqlDataSource dataSource, EventTable table, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            if (!await ColumnExistsAsync(connection, table, "position", cancellationToken).ConfigureAwait(false)
                || !await HasUnpositionedRowsAsync(connection, table, cancellationToken).ConfigureAwait(false))
            {
                return 0;
            }

            var parameters = new { name = table.QualifiedName };
            var (oldTransactions, blocks, blocksPerBatch) = await connection.QuerySingleAsync<(string[], long, long)>(new CommandDefinition(
                $"""
                SELECT array_remove(ARRAY[{OldTransactions(table)}]::text[], NULL),
                       pg_relation_size(to_regclass(@name)) / current_setting('block_size')::bigint,
                       (SELECT CASE WHEN c.reltuples > 0 AND c.relpages > 0
                                    THEN greatest(1, ceil({FillBatchSize} * c.relpages / c.reltuples))::bigint ELSE 100 END
                          FROM pg_class c WHERE c.oid = to_regclass(@name))
                """,
                parameters,
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            var fill = $"""
                UPDATE {table.QualifiedName} SET position = nextval('{table.QuotedPositionSequence}'::regclass)
                WHERE ctid = ANY (ARRAY (
                    SELECT ctid FROM {table.QualifiedName}
                    WHERE ctid >= @from::tid AND ctid < @to::tid AND position IS NULL AND tx = ANY (@old::text[]::xid8[])
                    FOR UPDATE SKIP LOCKED))
                """;
            long filled = 0;
            for (var from = 0L; from < blocks; from += blocksPerBatch)
            {
                var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    await connection.ExecuteAsync(new CommandDefinition(
                        "SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off", transaction: transaction, cancellationToken: cancellationToken))
                        .ConfigureAwait(false);
                    filled += await connection.ExecuteAsync(new CommandDefinition(
                        fill,
                        new { from = $"({from},0)", to = $"({from + blocksPerBatch},0)", old = oldTransactions },
                        transaction,
                        commandTimeout: 0,
                        cancellationToken: cancellationToken)).ConfigureAwait(false);
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            // The rows another starter held when the walk passed them: few, found through the index, and waited for
            // (once that starter commits they have a position, and the re-check leaves them out).
            var sweep = $"""
                UPDATE {table.QualifiedName} SET position = nextval('{table.QuotedPositionSequence}'::regclass)
                WHERE ctid = ANY (ARRAY (
                    SELECT ctid FROM {table.QualifiedName} WHERE {UnpositionedCondition(table)} LIMIT {FillBatchSize} FOR UPDATE))
                """;
            while (true)
            {
                var rows = await connection.ExecuteAsync(new CommandDefinition(
                    sweep, parameters, commandTimeout: 0, cancellationToken: cancellationToken)).ConfigureAwait(false);
                if (rows == 0)
                {
                    return filled;
                }

                filled += rows;
            }
        }
    }

    private static Task<bool> ColumnExistsAsync(NpgsqlConnection connection, EventTable table, string column, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass(@name) AND attname = @column AND NOT attisdropped)",
            new { name = table.QualifiedName, column },
            cancellationToken: cancellationToken));

    /// <summary>
    /// Checks, without changing anything, that the events table and the dead-letter table exist in a shape
    /// the consumer can write to: for a consumer running with <see cref="PostgresPersistenceOptions.EnsureSchema"/>
    /// off, typically under a least-privilege role that may not change the schema. Reads only the catalogs,
    /// which every role may read.
    /// </summary>
    /// <param name="dataSource">Where the tables live.</param>
    /// <param name="table">The events table, whose dead-letter table is <see cref="EventTable.DeadLettersQualifiedName"/>.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>No changes; in <see cref="SchemaReport.Warnings"/>, each missing secondary index (writes work
    /// without it, some queries are slow), and a position sequence with a smaller cache than 1,000 values (writes
    /// work, each row's position costs more).</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="SchemaMismatchException">A table or one of its columns is missing, or a table exists
    /// in a shape the consumer cannot write to (as for <see cref="EnsureSchemaAsync"/>).</exception>
    /// <exception cref="NpgsqlException">The connection failed, or the role may not use the schema.</exception>
    public static Task<SchemaReport> VerifySchemaAsync(NpgsqlDataSource dataSource, EventTable table, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(table);

        // READ ONLY: the server itself refuses any change.
        return InTransactionAsync(
            dataSource,
            "SET TRANSACTION READ ONLY",
            null,
            (connection, transaction) => VerifyAsync(connection, transaction, table, cancellationToken),
            cancellationToken);
    }

    /// <summary>
    /// Makes the partitions of a table partitioned by <c>expires_at</c> (<see cref="EventTable.IsPartitioned"/>) from the
    /// one holding <paramref name="now"/> to the one holding <paramref name="now"/> + <paramref name="ahead"/>, and
    /// those that rows waiting in the default partition belong to (moving those rows into them), at most 1,000 past the
    /// current one. Each partition is made in a transaction of its own under the table's schema lock, so instances
    /// doing this at once make each partition once. The consumer calls this at start and its TTL cleaner at each run.
    /// </summary>
    /// <param name="dataSource">Where the table lives.</param>
    /// <param name="table">A partitioned events table that exists.</param>
    /// <param name="now">The current time (the caller's scheduler's).</param>
    /// <param name="ahead">How far past <paramref name="now"/> partitions must exist: at least the longest ttl in use.</param>
    /// <param name="cancellationToken">Cancels the work; partitions already made stay.</param>
    /// <returns>The names of the partitions made, in range order; empty when all were there.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="table"/> is not partitioned.</exception>
    /// <exception cref="NpgsqlException">The DDL failed, or could not have its lock within 2 seconds.</exception>
    public static async Task<IReadOnlyList<string>> CreatePartitionsAsync(
        NpgsqlDataSource dataSource, EventTable table, DateTimeOffset now, TimeSpan ahead, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(table);
        if (!table.IsPartitioned)
        {
            throw new ArgumentException($"{table.QualifiedName} is not partitioned (its design has no PartitionInterval).", nameof(table));
        }

        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await Partitions.CreateAheadAsync(connection, table, now, ahead, cancellationToken).ConfigureAwait(false);
        }
    }

    internal static string LockKey(EventTable table) => "RxEventBus.Postgres schema " + table.QualifiedName;

    // One connection and one transaction, whose first statement is `setup`.
    private static async Task<SchemaReport> InTransactionAsync(
        NpgsqlDataSource dataSource,
        string setup,
        object? parameters,
        Func<NpgsqlConnection, NpgsqlTransaction, Task<SchemaReport>> body,
        CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                await connection.ExecuteAsync(new CommandDefinition(setup, parameters, transaction, cancellationToken: cancellationToken))
                    .ConfigureAwait(false);
                return await body(connection, transaction).ConfigureAwait(false);
            }
        }
    }

    private static async Task<SchemaReport> EnsureAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, EventTable table, CancellationToken cancellationToken)
    {
        // Everything is inspected before anything is changed: a table that cannot be fixed is left exactly as
        // it was (and the transaction, never committed, rolls back regardless).
        var drifts = await InspectAsync(connection, transaction, table, cancellationToken).ConfigureAwait(false);
        var differences = drifts.SelectMany(static d => d.Differences).ToList();
        if (differences.Count > 0)
        {
            throw new SchemaMismatchException(table.QualifiedName, differences, MigrateRemedy);
        }

        var changes = new List<string>();
        var warnings = new List<string>();
        if (!drifts[0].Exists && await CreateSchemaAsync(connection, transaction, table, cancellationToken).ConfigureAwait(false))
        {
            changes.Add($"created schema {table.Schema}");
        }

        foreach (var drift in drifts)
        {
            await ApplyAsync(connection, transaction, drift, changes, warnings, cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new SchemaReport(changes, warnings);
    }

    private static async Task<SchemaReport> VerifyAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, EventTable table, CancellationToken cancellationToken)
    {
        var drifts = await InspectAsync(connection, transaction, table, cancellationToken).ConfigureAwait(false);
        var needMigration = new List<string>();
        var missing = new List<string>();
        var warnings = new List<string>();
        foreach (var drift in drifts)
        {
            if (!drift.Exists)
            {
                missing.Add($"{drift.Shape.Title} does not exist.");
                continue;
            }

            needMigration.AddRange(drift.Differences);
            missing.AddRange(drift.MissingColumns.Select(c => drift.Shape.Sentence($"column {c.Name} ({c.Definition}) is missing")));
            if (drift.MissingDefaultPartition)
            {
                missing.Add($"{drift.Shape.Title} has no default partition, so a row outside every partition's range would be refused.");
            }

            warnings.AddRange(drift.MissingIndexes.Select(static i => $"index {i.Name} is missing: writes work, but {i.Purpose} is slow without it."));
            if (drift.SmallSequenceCache is { } cache)
            {
                warnings.Add(
                    $"sequence {drift.Shape.Sequence} caches {cache} value(s) per session: writes work, but each row's position costs more " +
                    $"than with CACHE {drift.Shape.SequenceCache} (ALTER SEQUENCE {drift.Shape.Sequence} CACHE {drift.Shape.SequenceCache}, as docs/schema.sql creates it).");
            }
        }

        if (needMigration.Count > 0 || missing.Count > 0)
        {
            var remedies = new[] { needMigration.Count > 0 ? MigrateRemedy : null, missing.Count > 0 ? CreateRemedy : null };
            throw new SchemaMismatchException(table.QualifiedName, [.. needMigration, .. missing], string.Join("\n", remedies.OfType<string>()));
        }

        if (await HasUnpositionedRowsAsync(connection, transaction, table, cancellationToken).ConfigureAwait(false))
        {
            warnings.Add(
                "some rows written before the position column existed have no position yet: writes work, but subscriptions refuse to " +
                "start until they are numbered (EnsureSchema on numbers them; docs/persistence.md shows how by hand).");
        }

        return new SchemaReport([], warnings);
    }

    // The events table first: the dead-letter table lives in its schema.
    private static async Task<List<TableDrift>> InspectAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, EventTable table, CancellationToken cancellationToken) =>
    [
        await SchemaInspector.InspectAsync(connection, transaction, table.EventsShape, cancellationToken).ConfigureAwait(false),
        await SchemaInspector.InspectAsync(connection, transaction, table.DeadLettersShape, cancellationToken).ConfigureAwait(false),
        await SchemaInspector.InspectAsync(connection, transaction, table.SubscriptionsShape, cancellationToken).ConfigureAwait(false),
    ];

    // Only when the schema is missing: CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege on the
    // database before it looks, so a role that owns the tables but not the database could not run it.
    private static async Task<bool> CreateSchemaAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, EventTable table, CancellationToken cancellationToken)
    {
        var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT to_regnamespace(@schema) IS NOT NULL",
            new { schema = table.QuotedSchema },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (exists)
        {
            return false;
        }

        await ExecuteAsync(connection, transaction, table.CreateSchemaStatement, cancellationToken).ConfigureAwait(false);
        return true;
    }

    // Runs only the statements for what is missing: on a table that is in place, ALTER TABLE and CREATE
    // INDEX would each take a lock on it (blocking other processes' writes) just to find nothing to do. The
    // index on expires_at comes after ADD COLUMN expires_at, which it needs.
    private static async Task ApplyAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, TableDrift drift, List<string> changes, List<string> warnings,
        CancellationToken cancellationToken)
    {
        var shape = drift.Shape;
        if (!drift.Exists)
        {
            if (shape.CreateSequenceStatement is { } createSequence)
            {
                await ExecuteAsync(connection, transaction, createSequence, cancellationToken).ConfigureAwait(false);
            }

            await ExecuteAsync(connection, transaction, shape.CreateStatement, cancellationToken).ConfigureAwait(false);
            if (shape.OwnSequenceStatement is { } ownSequence)
            {
                await ExecuteAsync(connection, transaction, ownSequence, cancellationToken).ConfigureAwait(false);
            }

            changes.Add($"created table {shape.QualifiedName}");
        }

        if (drift.MissingDefaultPartition)
        {
            await ExecuteAsync(connection, transaction, shape.CreateDefaultPartitionStatement!, cancellationToken).ConfigureAwait(false);
            changes.Add($"created the default partition of {shape.QualifiedName}");
        }

        foreach (var column in drift.MissingColumns)
        {
            await AddColumnAsync(connection, transaction, shape, column, cancellationToken).ConfigureAwait(false);
            changes.Add($"added column {column.Name} ({column.Definition}) to {shape.QualifiedName}");
        }

        // A sequence created before it had a cache (the first version with a position): ALTER SEQUENCE … CACHE
        // rewrites the sequence's one row, not the table, and holds the writers' nextval back until the commit;
        // sessions holding values already use them up first.
        if (drift.SmallSequenceCache is { } cache)
        {
            await ExecuteAsync(connection, transaction, shape.CacheSequenceStatement!, cancellationToken).ConfigureAwait(false);
            changes.Add($"set the cache of sequence {shape.Sequence} to {shape.SequenceCache} values (was {cache})");
        }

        if (drift.MissingIndexes.Count == 0)
        {
            return;
        }

        foreach (var index in drift.MissingIndexes)
        {
            await ExecuteAsync(connection, transaction, index.CreateStatement, cancellationToken).ConfigureAwait(false);
        }

        // CREATE INDEX IF NOT EXISTS skips, with only a notice, when another relation in the schema has the name.
        var present = await SchemaInspector.IndexNamesAsync(connection, transaction, shape, cancellationToken).ConfigureAwait(false);
        foreach (var index in drift.MissingIndexes)
        {
            if (present.Contains(index.Name))
            {
                changes.Add($"created index {index.Name}");
            }
            else
            {
                warnings.Add(
                    $"index {index.Name} was not created because another relation in the schema has that name: " +
                    $"writes work, but {index.Purpose} is slow without it.");
            }
        }
    }

    // None of these rewrites the table (each is a catalog change under the ACCESS EXCLUSIVE lock ALTER TABLE
    // takes, held to the commit): a NULL column, or one whose default is STABLE (tx: pg_current_xact_id(), the
    // ALTER's xid becomes every old row's value). position's default is nextval, volatile, which ADD COLUMN
    // would evaluate for every row by rewriting the table: so it is added as a NULL column, then given the
    // default for the rows to come; the old rows are numbered after the commit (FillPositionsAsync).
    private static async Task AddColumnAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, TableShape shape, ColumnShape column, CancellationToken cancellationToken)
    {
        if (!column.AddWithoutDefault)
        {
            await ExecuteAsync(
                connection, transaction, $"ALTER TABLE {shape.QualifiedName} ADD COLUMN IF NOT EXISTS {column.Name} {column.Definition};",
                cancellationToken).ConfigureAwait(false);
            return;
        }

        var owned = shape.SequenceColumn == column.Name;
        if (owned)
        {
            await ExecuteAsync(connection, transaction, shape.CreateSequenceStatement!, cancellationToken).ConfigureAwait(false);
        }

        await ExecuteAsync(
            connection, transaction,
            $"ALTER TABLE {shape.QualifiedName} ADD COLUMN IF NOT EXISTS {column.Name} {column.Type} NULL;" +
            $"ALTER TABLE {shape.QualifiedName} ALTER COLUMN {column.Name} SET DEFAULT {column.Default};",
            cancellationToken).ConfigureAwait(false);
        if (owned)
        {
            await ExecuteAsync(connection, transaction, shape.OwnSequenceStatement!, cancellationToken).ConfigureAwait(false);
        }
    }

    private static Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(sql, transaction: transaction, cancellationToken: cancellationToken));
}
