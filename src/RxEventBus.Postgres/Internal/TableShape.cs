namespace RxEventBus.Postgres.Internal;

// What one of the consumer's tables must look like: the one description its CREATE TABLE is generated from
// and an existing table is checked against (SchemaInspector), so the two cannot disagree.
//
// `Title` starts a sentence about the table as a whole: "Table "s"."events"" or "The dead-letter table
// "s"."events_dead_letters"". `Context` starts a sentence about one of its columns: empty for the events
// table, which the exception's first line names already; "In the dead-letter table …, " for the other one.
//
// `Sequence` (quoted, qualified) and `SequenceColumn`: a sequence that numbers the rows through that column's
// default, created before the table and owned by the column (so it goes when the table does). `SequenceCache`:
// how many values each session takes from it at a time (CACHE; at least this many on an existing sequence).
internal sealed record TableShape(
    string QualifiedName, string Title, string Context, IReadOnlyList<ColumnShape> Columns, IReadOnlyList<IndexShape> Indexes)
{
    internal string? Sequence { get; init; }

    internal string? SequenceColumn { get; init; }

    internal long SequenceCache { get; init; } = 1;

    // Table constraints after the columns, e.g. a unique key over two columns.
    internal IReadOnlyList<string> Constraints { get; init; } = [];

    // "PARTITION BY RANGE (expires_at)" for a partitioned table; null for a plain one. Its default partition is
    // made by `CreateDefaultPartitionStatement`.
    internal string? PartitionBy { get; init; }

    internal string? CreateDefaultPartitionStatement { get; init; }

    // The columns of the unique key that ON CONFLICT names: (id) for a plain table; (id, expires_at) for one
    // partitioned by expires_at, whose unique keys must hold the partition key.
    internal IReadOnlyList<string> ConflictKey { get; init; } = ["id"];

    internal string ConflictTarget => "(" + string.Join(", ", ConflictKey) + ")";

    internal string? CreateSequenceStatement => Sequence is null ? null : $"CREATE SEQUENCE IF NOT EXISTS {Sequence}{CacheClause};";

    internal string? CacheSequenceStatement => Sequence is null ? null : FormattableString.Invariant($"ALTER SEQUENCE {Sequence} CACHE {SequenceCache};");

    internal string? OwnSequenceStatement => Sequence is null ? null : $"ALTER SEQUENCE {Sequence} OWNED BY {QualifiedName}.{SequenceColumn};";

    private string CacheClause => SequenceCache > 1 ? FormattableString.Invariant($" CACHE {SequenceCache}") : "";

    internal string CreateStatement
    {
        get
        {
            var nameWidth = Columns.Max(static c => c.Name.Length);
            var typeWidth = Columns.Max(static c => c.Type.Length);
            var lines = Columns.Select(c => $"    {c.Name.PadRight(nameWidth)} {c.Type.PadRight(typeWidth)} {c.Constraint}")
                .Concat(Constraints.Select(static c => "    " + c));
            var partition = PartitionBy is null ? "" : " " + PartitionBy;
            return $"CREATE TABLE IF NOT EXISTS {QualifiedName} (\n{string.Join(",\n", lines)}\n){partition};";
        }
    }

    // One plain sentence about a column or constraint of this table.
    internal string Sentence(string clause) =>
        Context.Length == 0 ? char.ToUpperInvariant(clause[0]) + clause[1..] + "." : Context + clause + ".";
}

// `WrittenNull`: the consumer writes NULL into the column when the event has no value for it, so the column
// must accept NULL. `CanBeAdded`: ALTER TABLE … ADD COLUMN works on a table that already holds rows (the
// column is nullable or has a default).
//
// `Default`: for a column the database fills for every writer (the consumer never names it), the default it
// must have; an existing column without any default (or identity) is a difference, and one whose default is
// not exactly this one too when `ExactDefault` (tx: another default would break the reader's fence).
// `AddWithoutDefault`: the default is volatile (nextval), and ADD COLUMN with it would rewrite the table, so
// the column is added as a plain NULL column and given the default after.
internal sealed record ColumnShape(string Name, string Type, string Constraint, bool WrittenNull, bool CanBeAdded)
{
    internal string? Default { get; init; }

    internal bool ExactDefault { get; init; }

    internal bool AddWithoutDefault { get; init; }

    // What to do about a column of another type, given the type found (format_type's spelling), when an option
    // decides the expected type; appended to the difference's sentence.
    internal Func<string, string>? OtherTypeAdvice { get; init; }

    internal static ColumnShape FilledByDatabase(string name, string type, string nullability, string value, bool exactDefault, bool addWithoutDefault) =>
        new(name, type, $"{nullability} DEFAULT {value}", false, true)
        {
            Default = value,
            ExactDefault = exactDefault,
            AddWithoutDefault = addWithoutDefault,
        };

    internal static ColumnShape PrimaryKey(string name, string type) => new(name, type, "PRIMARY KEY", false, false);

    // A key column of a partitioned table, whose unique key is declared over several columns.
    internal static ColumnShape Key(string name, string type) => new(name, type, "NOT NULL", false, false);

    internal static ColumnShape Required(string name, string type) => new(name, type, "NOT NULL", false, false);

    internal static ColumnShape Optional(string name, string type) => new(name, type, "NULL", true, true);

    internal static ColumnShape Defaulted(string name, string type, string value) => new(name, type, $"NOT NULL DEFAULT {value}", false, true);

    internal string Definition => $"{Type} {Constraint}";

    // The types an existing column may have, as format_type spells them. Exact: a type modifier changes
    // what is stored (timestamptz(3) rounds to milliseconds, varchar(255) refuses longer values), so it is a
    // difference too. An unlimited varchar takes text's binary format unchanged; a bigint counter takes the
    // integer the consumer writes.
    internal IReadOnlyList<string> AcceptedTypes => Type switch
    {
        "text" => ["text", "character varying"],
        "timestamptz" => ["timestamp with time zone"],
        "integer" => ["integer", "bigint"],
        _ => [Type],
    };
}

// `Purpose`: what gets slow without the index, for the warning when it is missing.
internal sealed record IndexShape(string Name, string CreateStatement, string Purpose);
