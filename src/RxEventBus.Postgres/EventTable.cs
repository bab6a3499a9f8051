using System.Text.RegularExpressions;
using RxEventBus.Postgres.Internal;

namespace RxEventBus.Postgres;

/// <summary>
/// The events table and its dead-letter table beside it: their validated, quoted names and their definition.
/// Schema and table names come from configuration, so they are checked against a strict pattern and always
/// double-quoted — never pasted into SQL raw.
/// </summary>
public sealed partial class EventTable
{
    // PostgreSQL cuts identifiers at 63 bytes without an error, so two long names could become one. The
    // table name is kept short enough that every name derived from it fits: the longest is the dead-letter
    // index "<table>_last_failed_at_dl_idx", 40 + 22 = 62 bytes (the names are ASCII).
    private const int MaxTableLength = 40;

    private const string DeadLettersSuffix = "_dead_letters";

    private const string SubscriptionsSuffix = "_subscriptions";

    private const string DefaultPartitionSuffix = "_default";

    // The column default that records the writing transaction. STABLE, not volatile: ADD COLUMN with it is
    // instant (the ALTER's xid becomes the value of every row already there) and needs no rewrite.
    internal const string TransactionDefault = "pg_current_xact_id()";

    // The columns, in the order of Columns and DeadLetterColumns; CreateScript is made from these, and
    // SchemaManager checks an existing table against them. The dead-letter table holds the event's own
    // columns too, but its data is the payload's JSON as made, in bytes, which need not be valid jsonb (and is
    // NULL when it could not be made).
    private static readonly ColumnShape[] EventIdsAndTopic =
        [ColumnShape.PrimaryKey("id", "uuid"), ColumnShape.Optional("transaction_id", "uuid"), ColumnShape.Required("topic", "text")];

    private static readonly ColumnShape[] EventTimesAndSource =
    [
        ColumnShape.Optional("initialized_at", "timestamptz"),
        ColumnShape.Optional("occurred_at", "timestamptz"),
        ColumnShape.Optional("source", "text"),
        ColumnShape.Optional("ttl", "interval"),
    ];

    private static ColumnShape[] EventColumns(PayloadType payload) =>
        [
            .. EventIdsAndTopic,
            ColumnShape.Required("data", PayloadColumnType(payload)) with { OtherTypeAdvice = found => PayloadTypeAdvice(payload, found) },
            .. EventTimesAndSource,
            ColumnShape.Optional("expires_at", "timestamptz"),
        ];

    // A table partitioned by expires_at cannot have a unique key without it: its key is (id, expires_at), NULLS NOT
    // DISTINCT so that two rows of one id without expiry conflict too. The same event written twice has the same
    // expires_at (occurred_at + its ttl, or the default ttl), so a re-delivered event is still found as a duplicate.
    private static ColumnShape[] PartitionedEventColumns(PayloadType payload) =>
        [ColumnShape.Key("id", "uuid"), .. EventColumns(payload)[1..]];

    // A named subscription's checkpoint: every row with (tx, position) at or below it has been handled.
    private static readonly ColumnShape[] SubscriptionColumns =
    [
        ColumnShape.PrimaryKey("name", "text"),
        ColumnShape.Required("tx", "xid8"),
        ColumnShape.Required("position", "bigint"),
        ColumnShape.Defaulted("updated_at", "timestamptz", "now()"),
    ];

    private static readonly ColumnShape[] DeadLetterColumnShapes =
    [
        .. EventIdsAndTopic,
        ColumnShape.Optional("data", "bytea"),
        ColumnShape.Optional("data_type", "text"),
        .. EventTimesAndSource,
        ColumnShape.Required("reason", "text"),
        ColumnShape.Required("error_type", "text"),
        ColumnShape.Required("first_failed_at", "timestamptz"),
        ColumnShape.Required("last_failed_at", "timestamptz"),
        ColumnShape.Defaulted("attempts", "integer", "1"),
    ];

    /// <summary>Validates and quotes <paramref name="schema"/> and <paramref name="table"/>; the table's design is <see cref="EventTableDesign.Default"/>.</summary>
    /// <exception cref="ArgumentException">A name is not a plain identifier.</exception>
    public EventTable(string schema, string table)
        : this(schema, table, EventTableDesign.Default)
    {
    }

    /// <summary>Validates and quotes <paramref name="schema"/> and <paramref name="table"/>, for a table of <paramref name="design"/>.</summary>
    /// <exception cref="ArgumentException">A name is not a plain identifier, or the design names an unknown layout or type.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="design"/> is null.</exception>
    public EventTable(string schema, string table, EventTableDesign design)
    {
        ArgumentNullException.ThrowIfNull(design);
        if (!Enum.IsDefined(design.Indexes) || !Enum.IsDefined(design.Payload))
        {
            throw new ArgumentException($"Unknown index layout {(int)design.Indexes} or payload type {(int)design.Payload}.", nameof(design));
        }

        if (design.PartitionInterval is { } interval && EventTableDesign.PartitionIntervalProblem(interval, "The partition interval") is { } problem)
        {
            throw new ArgumentException(problem, nameof(design));
        }

        Check(schema, "Schema (EB_PG_SCHEMA)", 63);
        Check(table, "Table (EB_PG_TABLE)", MaxTableLength);
        Schema = schema;
        Table = table;
        Design = design;
        QualifiedName = $"{Quote(schema)}.{Quote(table)}";
        DeadLettersTable = table + DeadLettersSuffix;
        DeadLettersQualifiedName = $"{Quote(schema)}.{Quote(DeadLettersTable)}";
        PositionSequence = table + "_position_seq";
        QuotedPositionSequence = $"{Quote(schema)}.{Quote(PositionSequence)}";
        SubscriptionsTable = table + SubscriptionsSuffix;
        SubscriptionsQualifiedName = $"{Quote(schema)}.{Quote(SubscriptionsTable)}";
        DefaultPartition = table + DefaultPartitionSuffix;
        DefaultPartitionQualifiedName = $"{Quote(schema)}.{Quote(DefaultPartition)}";

        // A channel name is an identifier: PostgreSQL refuses one of 64 bytes or more (the names are ASCII).
        var channel = schema + "." + table;
        NotificationChannel = channel.Length > 63 ? channel[..63] : channel;

        // tx and position are never written by the consumer: the database fills them, for any writer.
        // position is added to an existing table as a plain nullable column and only then given its default:
        // ADD COLUMN with nextval (volatile) as its default would rewrite the whole table.
        var positionDefault = $"nextval('{QuotedPositionSequence}'::regclass)";
        ColumnShape[] eventColumns =
        [
            .. (IsPartitioned ? PartitionedEventColumns(design.Payload) : EventColumns(design.Payload)),
            ColumnShape.FilledByDatabase("tx", "xid8", "NOT NULL", TransactionDefault, exactDefault: true, addWithoutDefault: false),
            ColumnShape.FilledByDatabase("position", "bigint", "NULL", positionDefault, exactDefault: false, addWithoutDefault: true),
        ];

        // Events indexes are "<table>_<column>_idx". The dead-letter ones end in "_dl_idx" rather than being
        // "<table>_dl_<column>_idx": no events index name ends that way, so the dead-letter indexes of a table
        // "x" can never have the name of an index of a table "x_dl" in the same schema (CREATE INDEX IF NOT
        // EXISTS would then skip one of them). "<table>_dead_letters_<column>_idx" would pass 63 bytes.
        EventsShape = new TableShape(
            QualifiedName,
            $"Table {QualifiedName}",
            "",
            eventColumns,
            EventIndexes(QualifiedName, table, design.Indexes))
        {
            Sequence = QuotedPositionSequence,
            SequenceColumn = "position",
            SequenceCache = PositionSequenceCache,
            Constraints = IsPartitioned ? [$"CONSTRAINT {Quote(table + "_id_expires_at_key")} UNIQUE NULLS NOT DISTINCT (id, expires_at)"] : [],
            PartitionBy = IsPartitioned ? "PARTITION BY RANGE (expires_at)" : null,
            ConflictKey = IsPartitioned ? ["id", "expires_at"] : ["id"],
            CreateDefaultPartitionStatement = IsPartitioned ? CreateDefaultPartitionStatement : null,
        };
        DeadLettersShape = new TableShape(
            DeadLettersQualifiedName,
            $"The dead-letter table {DeadLettersQualifiedName}",
            $"In the dead-letter table {DeadLettersQualifiedName}, ",
            DeadLetterColumnShapes,
            [
                Index(DeadLettersQualifiedName, table + "_last_failed_at_dl_idx", "(last_failed_at DESC)", "listing the newest dead letters"),
                Index(DeadLettersQualifiedName, table + "_topic_dl_idx", "(topic)", "finding dead letters by topic"),
            ]);
        SubscriptionsShape = new TableShape(
            SubscriptionsQualifiedName,
            $"The subscriptions table {SubscriptionsQualifiedName}",
            $"In the subscriptions table {SubscriptionsQualifiedName}, ",
            SubscriptionColumns,
            []);
    }

    /// <summary>How the table is made: its indexes, payload type and partitions.</summary>
    public EventTableDesign Design { get; }

    /// <summary>Whether the table is partitioned by <c>expires_at</c> (<see cref="EventTableDesign.PartitionInterval"/> is set).</summary>
    public bool IsPartitioned => Design.PartitionInterval is not null;

    /// <summary>
    /// The default partition of a partitioned table, unquoted: <c>&lt;table&gt;_default</c>, in the same schema. It
    /// holds the rows without an expiry and the rows whose expiry is past the last partition made; the TTL cleaner
    /// deletes the expired ones row by row, and moves rows out of it when it makes the partition they belong to.
    /// </summary>
    public string DefaultPartition { get; }

    /// <summary><c>"schema"."&lt;table&gt;_default"</c>, ready for SQL.</summary>
    public string DefaultPartitionQualifiedName { get; }

    /// <summary>The schema name, unquoted.</summary>
    public string Schema { get; }

    /// <summary>The table name, unquoted.</summary>
    public string Table { get; }

    /// <summary><c>"schema"."table"</c>, ready for SQL.</summary>
    public string QualifiedName { get; }

    /// <summary>The dead-letter table's name, unquoted: <c>&lt;table&gt;_dead_letters</c>, in the same schema.</summary>
    public string DeadLettersTable { get; }

    /// <summary><c>"schema"."&lt;table&gt;_dead_letters"</c>, ready for SQL.</summary>
    public string DeadLettersQualifiedName { get; }

    /// <summary>
    /// The sequence that numbers the events table's rows, unquoted: <c>&lt;table&gt;_position_seq</c>, in the same
    /// schema, owned by the <c>position</c> column (whose default is <c>nextval</c> of it). It has <c>CACHE 1000</c>:
    /// each database session takes 1,000 values at a time and hands them out in increasing order, so the rows of
    /// one transaction are numbered in the order they were inserted, while the rows of concurrent transactions
    /// take values from different ranges (the subscriptions' order is by transaction first, then position).
    /// </summary>
    public string PositionSequence { get; }

    /// <summary>
    /// The table of the named subscriptions' checkpoints, unquoted: <c>&lt;table&gt;_subscriptions</c>, in the same
    /// schema. One row per subscription name: <c>name text PRIMARY KEY, tx xid8, position bigint, updated_at
    /// timestamptz</c>; every events row whose <c>(tx, position)</c> is at or below a checkpoint has been handled
    /// by that subscription.
    /// </summary>
    public string SubscriptionsTable { get; }

    /// <summary><c>"schema"."&lt;table&gt;_subscriptions"</c>, ready for SQL.</summary>
    public string SubscriptionsQualifiedName { get; }

    /// <summary>
    /// The channel the consumer notifies once per committed batch (<c>pg_notify</c>, with
    /// <see cref="PostgresPersistenceOptions.NotifyOnCommit"/>): <c>schema.table</c>, unquoted, cut to 63
    /// characters. A listener quotes it: <c>LISTEN "public.events"</c>.
    /// </summary>
    public string NotificationChannel { get; }

    /// <summary>The events table's columns, in the order COPY writes them.</summary>
    public const string Columns = "id, transaction_id, topic, data, initialized_at, occurred_at, source, ttl, expires_at";

    /// <summary>
    /// The dead-letter table's columns, in the order of its definition: the event's own columns (<c>data</c>
    /// is the payload's JSON as UTF-8 bytes, NULL when it could not be made; <c>data_type</c> the payload's
    /// .NET type name), then <c>reason</c> (why it cannot be written, in words), <c>error_type</c> (the
    /// SQLSTATE, or the exception's type name), <c>first_failed_at</c>, <c>last_failed_at</c> and
    /// <c>attempts</c> (default 1). <c>id</c> is the primary key, so a dead letter stored again can be
    /// counted with <c>INSERT … ON CONFLICT (id) DO UPDATE</c>.
    /// </summary>
    public const string DeadLetterColumns =
        "id, transaction_id, topic, data, data_type, initialized_at, occurred_at, source, ttl, reason, error_type, first_failed_at, last_failed_at, attempts";

    /// <summary>
    /// Idempotent DDL: the schema; the sequence <see cref="PositionSequence"/> (<c>CACHE 1000</c>); the events table with the
    /// event's fields in native types plus <c>expires_at</c> (when the row's ttl runs out, computed at write
    /// time so TTL deletion is one index range scan), <c>tx</c> (the writing transaction, default
    /// <c>pg_current_xact_id()</c>) and <c>position</c> (default <c>nextval</c> of the sequence, which it owns),
    /// and the indexes of its <see cref="EventTableDesign.Indexes"/> layout (by default B-trees on <c>occurred_at</c>
    /// and <c>transaction_id</c>, BRIN on <c>expires_at</c>) and
    /// <c>(tx, position)</c>; the dead-letter table (<see cref="DeadLetterColumns"/>) and its indexes on
    /// <c>last_failed_at DESC</c> and <c>topic</c>; the subscriptions' checkpoint table
    /// (<see cref="SubscriptionsTable"/>). <c>docs/schema.sql</c> is this script for the default names.
    /// </summary>
    public string CreateScript => string.Join(
        "\n",
        [
            CreateSchemaStatement,
            EventsShape.CreateSequenceStatement!,
            EventsShape.CreateStatement,
            EventsShape.OwnSequenceStatement!,
            .. IsPartitioned ? [CreateDefaultPartitionStatement] : Array.Empty<string>(),
            .. EventsShape.Indexes.Select(static i => i.CreateStatement),
            DeadLettersShape.CreateStatement,
            .. DeadLettersShape.Indexes.Select(static i => i.CreateStatement),
            SubscriptionsShape.CreateStatement,
        ]);

    internal string QuotedSchema => Quote(Schema);

    internal string CreateDefaultPartitionStatement => $"CREATE TABLE IF NOT EXISTS {DefaultPartitionQualifiedName} PARTITION OF {QualifiedName} DEFAULT;";

    // A partition's name: "<table>_p" and the UTC start of its range, yyyyMMddHHmm (at most 40 + 14 bytes).
    internal string PartitionName(DateTime from) => Table + "_p" + from.ToString("yyyyMMddHHmm", System.Globalization.CultureInfo.InvariantCulture);

    internal string QualifiedPartitionName(DateTime from) => $"{QuotedSchema}.{Quote(PartitionName(from))}";

    internal string CreateSchemaStatement => $"CREATE SCHEMA IF NOT EXISTS {QuotedSchema};";

    internal TableShape EventsShape { get; }

    internal TableShape DeadLettersShape { get; }

    internal TableShape SubscriptionsShape { get; }

    // "schema"."<table>_position_seq", ready for SQL.
    internal string QuotedPositionSequence { get; }

    // The position sequence's CACHE. Uncached, every nextval (one per row) locks the sequence's buffer and
    // marks it dirty, and every 32nd writes WAL; cached, a session does that once per 1,000 rows. Still
    // increasing within a session, hence within a transaction, which is all the (tx, position) order needs.
    // A session that ends leaves the rest of its range unused (gaps), which positions may have anyway.
    internal const int PositionSequenceCache = 1000;

    /// <inheritdoc/>
    public override string ToString() => QualifiedName;

    // occurred_at ascending: rows arrive in about increasing time, and PostgreSQL inserts an increasing key at a
    // B-tree's rightmost leaf without descending from the root (its fast path); a DESC index puts every new row at the
    // leftmost leaf instead, which cost twice as much per row (docs/benchmarks.md, issue 13). Either serves ORDER BY
    // occurred_at in both directions.
    // The events table's secondary indexes for a layout, "<table>_<column>_idx" whatever the access method, so that
    // a table created with one layout has, under another, each index the second one names (CREATE INDEX IF NOT
    // EXISTS finds it by name; a B-tree serves every query a BRIN index does). (tx, position) is in every layout:
    // subscriptions page through it.
    private static IndexShape[] EventIndexes(string qualifiedName, string table, IndexLayout layout)
    {
        var position = Index(qualifiedName, table + "_tx_position_idx", "(tx, position)", "reading the events in order (subscriptions)");

        // autosummarize: each block range is summarized (by autovacuum) as soon as it fills, not only at the next
        // VACUUM; a range not yet summarized is read by every scan of the index, so a DELETE of expired rows would
        // otherwise read all pages written since the last vacuum.
        var expiresAtBrin = Index(qualifiedName, table + "_expires_at_idx", "USING brin (expires_at) WITH (autosummarize = on)", "deleting expired events");
        return layout switch
        {
            IndexLayout.Full =>
            [
                Index(qualifiedName, table + "_occurred_at_idx", "(occurred_at)", "reading events in time order"),
                Index(qualifiedName, table + "_topic_idx", "(topic)", "counting and filtering by topic"),
                Index(qualifiedName, table + "_transaction_id_idx", "(transaction_id)", "finding events by transaction id"),
                Index(qualifiedName, table + "_expires_at_idx", "(expires_at)", "deleting expired events"),
                position,
            ],
            IndexLayout.Minimal =>
            [
                position,
                expiresAtBrin,
            ],
            _ =>
            [
                Index(qualifiedName, table + "_occurred_at_idx", "(occurred_at)", "reading events in time order"),
                Index(qualifiedName, table + "_transaction_id_idx", "(transaction_id) WHERE transaction_id IS NOT NULL", "finding events by transaction id"),
                expiresAtBrin,
                position,
            ],
        };
    }

    // The writer sends the payload in the format of the type the design names, so a data column of another type is
    // refused; when that type is one the library writes, the option that chooses it is the remedy.
    private static string PayloadTypeAdvice(PayloadType payload, string found)
    {
        var option = $"the payload type (PayloadType, EB_PG_PAYLOAD_TYPE) is {PayloadColumnType(payload)}";
        return Enum.GetValues<PayloadType>().Select(PayloadColumnType).Contains(found, StringComparer.Ordinal)
            ? $"{option}; set it to {found} to write to this column as it is"
            : $"{option}, and the library writes only jsonb, json or bytea: migrate the column to one of them";
    }

    private static string PayloadColumnType(PayloadType payload) => payload switch
    {
        PayloadType.Json => "json",
        PayloadType.Bytea => "bytea",
        _ => "jsonb",
    };

    private static IndexShape Index(string qualifiedTable, string name, string columns, string purpose) =>
        new(name, $"CREATE INDEX IF NOT EXISTS {Quote(name)} ON {qualifiedTable} {columns};", purpose);

    private static string Quote(string identifier) => "\"" + identifier + "\"";

    private static void Check(string? name, string what, int maxLength)
    {
        if (IdentifierProblem(name, what, maxLength) is { } problem)
        {
            throw new ArgumentException(problem);
        }
    }

    // What is wrong with a schema or table name, saying `what` it is; null when it is a plain identifier.
    internal static string? SchemaProblem(string? name, string what) => IdentifierProblem(name, what, 63);

    internal static string? TableProblem(string? name, string what) => IdentifierProblem(name, what, MaxTableLength);

    private static string? IdentifierProblem(string? name, string what, int maxLength) =>
        name is null || !Identifier().IsMatch(name) || name.Length > maxLength
            ? $"{what} must be a plain identifier: a letter or underscore, then letters, digits or underscores, " +
              $"at most {maxLength} characters; got '{name}'."
            : null;

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Identifier();
}
