using System.Text.RegularExpressions;

namespace RxEventBus.Postgres;

/// <summary>
/// The events table: its validated, quoted name and its definition. Schema and table names come from
/// configuration, so they are checked against a strict pattern and always double-quoted — never pasted into
/// SQL raw.
/// </summary>
public sealed partial class EventTable
{
    // Index names are "<table>_<column>_idx"; PostgreSQL truncates identifiers at 63 bytes, so a table name
    // is kept short enough that its index names stay distinct.
    private const int MaxTableLength = 40;

    /// <summary>Validates and quotes <paramref name="schema"/> and <paramref name="table"/>.</summary>
    /// <exception cref="ArgumentException">A name is not a plain identifier.</exception>
    public EventTable(string schema, string table)
    {
        Check(schema, "Schema (EB_PG_SCHEMA)", 63);
        Check(table, "Table (EB_PG_TABLE)", MaxTableLength);
        Schema = schema;
        Table = table;
        QualifiedName = $"{Quote(schema)}.{Quote(table)}";
    }

    /// <summary>The schema name, unquoted.</summary>
    public string Schema { get; }

    /// <summary>The table name, unquoted.</summary>
    public string Table { get; }

    /// <summary><c>"schema"."table"</c>, ready for SQL.</summary>
    public string QualifiedName { get; }

    /// <summary>The columns, in the order COPY writes them.</summary>
    public const string Columns = "id, transaction_id, topic, data, initialized_at, occurred_at, source, ttl, expires_at";

    /// <summary>
    /// Idempotent DDL: the schema, the table with the seed's columns in native types plus <c>expires_at</c>
    /// (when the row's ttl runs out, computed at write time so TTL deletion is one index range scan), and
    /// the indexes on <c>occurred_at DESC</c>, <c>topic</c>, <c>transaction_id</c> and <c>expires_at</c>.
    /// </summary>
    public string CreateScript => $"""
        CREATE SCHEMA IF NOT EXISTS {Quote(Schema)};
        CREATE TABLE IF NOT EXISTS {QualifiedName} (
            id             uuid        PRIMARY KEY,
            transaction_id uuid        NULL,
            topic          text        NOT NULL,
            data           jsonb       NOT NULL,
            initialized_at timestamptz NULL,
            occurred_at    timestamptz NULL,
            source         text        NULL,
            ttl            interval    NULL,
            expires_at     timestamptz NULL
        );
        CREATE INDEX IF NOT EXISTS {Quote(Table + "_occurred_at_idx")} ON {QualifiedName} (occurred_at DESC);
        CREATE INDEX IF NOT EXISTS {Quote(Table + "_topic_idx")} ON {QualifiedName} (topic);
        CREATE INDEX IF NOT EXISTS {Quote(Table + "_transaction_id_idx")} ON {QualifiedName} (transaction_id);
        CREATE INDEX IF NOT EXISTS {Quote(Table + "_expires_at_idx")} ON {QualifiedName} (expires_at);
        """;

    /// <inheritdoc/>
    public override string ToString() => QualifiedName;

    private static string Quote(string identifier) => "\"" + identifier + "\"";

    private static void Check(string? name, string what, int maxLength)
    {
        if (name is null || !Identifier().IsMatch(name) || name.Length > maxLength)
        {
            throw new ArgumentException(
                $"{what} must be a plain identifier: a letter or underscore, then letters, digits or underscores, " +
                $"at most {maxLength} characters; got '{name}'.");
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Identifier();
}
