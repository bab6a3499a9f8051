using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench.Infrastructure;

// The events table exactly as EventTable.CreateScript made it before issue 12 (main at 07db7e1, the
// docs/schema.sql of then): no tx, no position, no (tx, position) index, no sequence, no checkpoint table. Kept
// here, as text, so that what the position costs the writer can still be measured after the library moved on.
// One change since (issue 13): the data column has the type of the table's design (--payload; jsonb then, and
// still for jsonb), so that d-pre12 and d write the same payload type and differ only in the position.
internal static class PreIssue12Table
{
    internal static string CreateScript(EventTable table)
    {
        var s = $"\"{table.Schema}\"";
        var t = table.QualifiedName;
        var n = table.Table;
        var dl = table.DeadLettersQualifiedName;
        var data = CopyRows.ColumnType(table.Design.Payload).PadRight(11);
        return $"""
            CREATE SCHEMA IF NOT EXISTS {s};
            CREATE TABLE IF NOT EXISTS {t} (
                id             uuid        PRIMARY KEY,
                transaction_id uuid        NULL,
                topic          text        NOT NULL,
                data           {data} NOT NULL,
                initialized_at timestamptz NULL,
                occurred_at    timestamptz NULL,
                source         text        NULL,
                ttl            interval    NULL,
                expires_at     timestamptz NULL
            );
            CREATE INDEX IF NOT EXISTS "{n}_occurred_at_idx" ON {t} (occurred_at DESC);
            CREATE INDEX IF NOT EXISTS "{n}_topic_idx" ON {t} (topic);
            CREATE INDEX IF NOT EXISTS "{n}_transaction_id_idx" ON {t} (transaction_id);
            CREATE INDEX IF NOT EXISTS "{n}_expires_at_idx" ON {t} (expires_at);
            CREATE TABLE IF NOT EXISTS {dl} (
                id              uuid        PRIMARY KEY,
                transaction_id  uuid        NULL,
                topic           text        NOT NULL,
                data            bytea       NULL,
                data_type       text        NULL,
                initialized_at  timestamptz NULL,
                occurred_at     timestamptz NULL,
                source          text        NULL,
                ttl             interval    NULL,
                reason          text        NOT NULL,
                error_type      text        NOT NULL,
                first_failed_at timestamptz NOT NULL,
                last_failed_at  timestamptz NOT NULL,
                attempts        integer     NOT NULL DEFAULT 1
            );
            CREATE INDEX IF NOT EXISTS "{n}_last_failed_at_dl_idx" ON {dl} (last_failed_at DESC);
            CREATE INDEX IF NOT EXISTS "{n}_topic_dl_idx" ON {dl} (topic);
            """;
    }
}
