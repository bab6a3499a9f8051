using Dapper;
using Npgsql;

namespace RxEventBus.Postgres.Internal;

// Compares an existing table with the TableShape the consumer writes, reading the catalogs (pg_class,
// pg_attribute, pg_index) rather than information_schema: the table is found by its quoted qualified name
// through to_regclass, exactly as the consumer's own SQL resolves it, and the catalogs say what matters to a
// write (the type with its modifier, NOT NULL, a default, a generated column, which unique index ON CONFLICT
// can use). Reads only; changes nothing.
internal static class SchemaInspector
{
    private const string RelationKindSql = "SELECT c.relkind::text FROM pg_class c WHERE c.oid = to_regclass(@name)";

    // An identity column fills itself as a default does; a generated column is computed, never written
    // (attgenerated: PostgreSQL 12+).
    private const string ColumnsSql = """
        SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '', a.attgenerated <> '',
               pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = to_regclass(@name) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """;

    // ON CONFLICT (id) can only use a unique index on exactly (id) — (id, expires_at) on a partitioned table: valid,
    // not partial, not on an expression, and not deferrable (PostgreSQL refuses deferrable constraints as conflict
    // arbiters).
    private const string UniqueKeySql = """
        SELECT EXISTS (
            SELECT FROM pg_index i
            WHERE i.indrelid = to_regclass(@name)
              AND i.indisunique AND i.indimmediate AND i.indisvalid AND i.indnatts = cardinality(@columns::text[])
              AND i.indpred IS NULL AND i.indexprs IS NULL
              AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
                    WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[]))
                  = (SELECT array_agg(c ORDER BY c) FROM unnest(@columns::text[]) c))
        """;

    // The default partition of a partitioned table: where a row goes that no partition's range holds.
    private const string DefaultPartitionSql = "SELECT p.partdefid <> 0 FROM pg_partitioned_table p WHERE p.partrelid = to_regclass(@name)";

    private const string IndexNamesSql = """
        SELECT c.relname::text
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = to_regclass(@name)
        """;

    // CACHE of the sequence that numbers the rows; none when it does not exist (it is created with the column).
    private const string SequenceCacheSql = "SELECT s.seqcache FROM pg_sequence s WHERE s.seqrelid = to_regclass(@sequence)";

    private const string KeyColumn = "id";

    internal static async Task<TableDrift> InspectAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, TableShape shape, CancellationToken cancellationToken)
    {
        var name = new { name = shape.QualifiedName };
        var kind = await connection.ExecuteScalarAsync<string?>(Command(RelationKindSql, name, transaction, cancellationToken)).ConfigureAwait(false);
        if (kind is null)
        {
            return new TableDrift(shape, Exists: false, [], [], shape.Indexes, SmallSequenceCache: null) { MissingDefaultPartition = shape.PartitionBy is not null };
        }

        // An ordinary or a partitioned table; a view or a foreign table cannot take COPY and ON CONFLICT.
        if (kind is not ("r" or "p"))
        {
            return new TableDrift(shape, Exists: true, [$"{shape.Title} is {KindName(kind)}, not a table."], [], [], SmallSequenceCache: null);
        }

        // Partitioned or not is the table's whole layout (its unique key, its retention): the consumer writes and
        // cleans as the design says, so a table of the other kind is a difference, never adapted to in silence.
        if ((kind == "p") != (shape.PartitionBy is not null))
        {
            return new TableDrift(
                shape,
                Exists: true,
                [kind == "p"
                    ? $"{shape.Title} is partitioned, but PartitionInterval (EB_PG_PARTITION_INTERVAL_IN_MS) is not set: set it to the table's interval."
                    : $"{shape.Title} is not partitioned, but PartitionInterval (EB_PG_PARTITION_INTERVAL_IN_MS) is set: migrate the table " +
                      "(docs/persistence.md, \"Time partitions\") or unset it."],
                [],
                [],
                SmallSequenceCache: null);
        }

        var columns = (await connection.QueryAsync<(string Name, string Type, bool NotNull, bool HasDefault, bool Generated, string? DefaultExpression)>(
            Command(ColumnsSql, name, transaction, cancellationToken)).ConfigureAwait(false)).ToList();
        var differences = new List<string>();
        var missingColumns = new List<ColumnShape>();
        foreach (var expected in shape.Columns)
        {
            var found = columns.FindIndex(c => c.Name == expected.Name);
            if (found < 0)
            {
                if (expected.CanBeAdded)
                {
                    missingColumns.Add(expected);
                }
                else
                {
                    differences.Add(shape.Sentence(
                        $"column {expected.Name} ({expected.Definition}) is missing, and it cannot be added without a value for the rows already there"));
                }

                continue;
            }

            var actual = columns[found];
            if (!expected.AcceptedTypes.Contains(actual.Type))
            {
                var advice = expected.OtherTypeAdvice is { } advise ? ": " + advise(actual.Type) : "";
                differences.Add(shape.Sentence($"column {expected.Name} has type {actual.Type}, expected {string.Join(" or ", expected.AcceptedTypes)}{advice}"));
            }

            if (actual.Generated)
            {
                differences.Add(shape.Sentence($"column {expected.Name} is a generated column, but the consumer writes its value"));
            }

            // tx and position are filled by the database for every writer, ours or not: without the default, the
            // rows of other writers (or ours) would have no place in the subscriptions' order.
            if (expected.Default is not null && !actual.Generated)
            {
                if (!actual.HasDefault)
                {
                    differences.Add(shape.Sentence(
                        $"column {expected.Name} has no default, but every row needs one and the consumer does not write it: expected DEFAULT {expected.Default}"));
                }
                else if (expected.ExactDefault && actual.DefaultExpression != expected.Default)
                {
                    differences.Add(shape.Sentence(
                        $"column {expected.Name} has the default {actual.DefaultExpression ?? "(identity)"}, expected {expected.Default}"));
                }
            }

            if (expected.WrittenNull && actual.NotNull)
            {
                differences.Add(shape.Sentence($"column {expected.Name} is NOT NULL, but the consumer writes NULL into it when it has no value for it"));
            }
        }

        // The consumer names its own columns only, so any other column takes its default; without one, a
        // NOT NULL column refuses every row.
        foreach (var extra in columns.Where(c => c.NotNull && !c.HasDefault && shape.Columns.All(e => e.Name != c.Name)))
        {
            differences.Add(shape.Sentence(
                $"column {extra.Name} is NOT NULL and has no default, but the consumer does not write it, so every row would be refused"));
        }

        if (columns.Exists(c => c.Name == KeyColumn) && !await connection.ExecuteScalarAsync<bool>(
                Command(UniqueKeySql, new { name = shape.QualifiedName, columns = shape.ConflictKey.ToArray() }, transaction, cancellationToken)).ConfigureAwait(false))
        {
            differences.Add(shape.Sentence(shape.ConflictKey.Count == 1
                ? $"there is no primary key or unique index on {KeyColumn} alone, which the consumer's INSERT … ON CONFLICT ({KeyColumn}) needs"
                : $"there is no unique index on exactly {shape.ConflictTarget}, which the consumer's INSERT … ON CONFLICT {shape.ConflictTarget} needs"));
        }

        var missingDefaultPartition = shape.PartitionBy is not null && await connection.ExecuteScalarAsync<bool?>(
            Command(DefaultPartitionSql, name, transaction, cancellationToken)).ConfigureAwait(false) != true;

        var indexNames = await IndexNamesAsync(connection, transaction, shape, cancellationToken).ConfigureAwait(false);
        long? cache = shape.Sequence is null
            ? null
            : await connection.ExecuteScalarAsync<long?>(
                Command(SequenceCacheSql, new { sequence = shape.Sequence }, transaction, cancellationToken)).ConfigureAwait(false);
        return new TableDrift(
            shape, Exists: true, differences, missingColumns, [.. shape.Indexes.Where(i => !indexNames.Contains(i.Name))],
            SmallSequenceCache: cache < shape.SequenceCache ? cache : null)
        {
            MissingDefaultPartition = missingDefaultPartition,
        };
    }

    internal static async Task<HashSet<string>> IndexNamesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, TableShape shape, CancellationToken cancellationToken) =>
        [.. await connection.QueryAsync<string>(
            Command(IndexNamesSql, new { name = shape.QualifiedName }, transaction, cancellationToken)).ConfigureAwait(false)];

    private static CommandDefinition Command(string sql, object parameters, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        new(sql, parameters, transaction, cancellationToken: cancellationToken);

    private static string KindName(string kind) => kind switch
    {
        "v" => "a view",
        "m" => "a materialized view",
        "f" => "a foreign table",
        "S" => "a sequence",
        "i" or "I" => "an index",
        "c" => "a composite type",
        _ => $"a relation of kind '{kind}'",
    };
}

// How an existing table differs from its shape. `Differences`: what no safe change can fix, one sentence
// each. `MissingColumns`: columns ALTER TABLE … ADD COLUMN can add. `MissingIndexes`: by name; for a table
// that does not exist, all of them. `SmallSequenceCache`: the CACHE of the shape's sequence when it exists with
// fewer than `Shape.SequenceCache` values (writes work, each row's nextval costs more); otherwise null.
internal sealed record TableDrift(
    TableShape Shape,
    bool Exists,
    IReadOnlyList<string> Differences,
    IReadOnlyList<ColumnShape> MissingColumns,
    IReadOnlyList<IndexShape> MissingIndexes,
    long? SmallSequenceCache)
{
    // A partitioned table without its default partition: a row that no partition holds would be refused.
    internal bool MissingDefaultPartition { get; init; }
}
