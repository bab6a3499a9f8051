using RxEventBus.PipelineBench.Infrastructure;
using Npgsql;
using NpgsqlTypes;

namespace RxEventBus.PipelineBench.Contenders;

// "a-seed" (issue 13): (a)'s raw binary COPY — 10,000 rows to a batch and transaction, one writer, the rows made
// in advance, StartRow/Write — into the seed's own table layout (event_bus_postgres) instead of ours: data as
// bytea (the same JSON bytes), the times as bigint (Unix microseconds, EventBus's default time unit), ttl as
// bigint, no expires_at, no tx/position, and B-trees on occurred_at, topic and transaction_id. It answers "what
// does our table cost against the seed's", with the writer held equal. The seed's table replaces ours under
// the same name in the contender's schema, so the harness counts and drops it as any other.
internal sealed class SeedLayoutCopy(ContenderContext context) : Contender(context)
{
    internal const string Columns = "id, transaction_id, topic, data, initialized_at, occurred_at, source, ttl";

    internal override string Key => "a-seed";

    // The seed's layout, whatever --payload says.
    internal override string DataColumnType => "bytea";

    internal override string Description =>
        "raw binary COPY as (a), into the seed's table layout: data bytea, times bigint, B-trees on occurred_at, topic, transaction_id";

    internal static string CreateScript(string schema, string table) => $"""
        CREATE SCHEMA IF NOT EXISTS "{schema}";
        CREATE TABLE "{schema}"."{table}" (
            id             uuid   PRIMARY KEY,
            transaction_id uuid,
            topic          text   NOT NULL,
            data           bytea  NOT NULL,
            initialized_at bigint,
            occurred_at    bigint,
            source         text,
            ttl            bigint
        );
        CREATE INDEX "{table}_occurred_at_idx" ON "{schema}"."{table}" (occurred_at);
        CREATE INDEX "{table}_topic_idx" ON "{schema}"."{table}" (topic);
        CREATE INDEX "{table}_transaction_id_idx" ON "{schema}"."{table}" (transaction_id);
        """;

    internal override async Task PrepareTableAsync()
    {
        var t = Context.Table;
        await Context.Database.DropAsync(t);
        await Context.Database.ExecuteAsync(CreateScript(t.Schema, t.Table));
        await Context.Database.ExecuteAsync("CHECKPOINT");
    }

    internal override async Task<long> RunAsync()
    {
        var rows = Context.Workload.Rows;
        var copy = $"COPY {Context.Table.QualifiedName} ({Columns}) FROM STDIN (FORMAT BINARY)";
        ulong written = 0;
        for (var offset = 0; offset < rows.Length; offset += RawCopy.BatchSize)
        {
            var count = Math.Min(RawCopy.BatchSize, rows.Length - offset);
            written += await CopyBatchAsync(Context.DataSource, copy, rows, offset, count);
        }

        return (long)written;
    }

    private static async Task<ulong> CopyBatchAsync(NpgsqlDataSource dataSource, string copy, BenchRow[] rows, int offset, int count)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        ulong written;
        await using (var importer = await connection.BeginBinaryImportAsync(copy))
        {
            for (var i = offset; i < offset + count; i++)
            {
                var row = rows[i];
                var e = row.Event;
                importer.StartRow();
                importer.Write(e.Id, NpgsqlDbType.Uuid);
                CopyRows.WriteNullable(importer, e.TransactionId, NpgsqlDbType.Uuid);
                importer.Write(e.Topic, NpgsqlDbType.Text);
                importer.Write(row.Data, NpgsqlDbType.Bytea);
                CopyRows.WriteNullable(importer, Microseconds(row.InitializedAt), NpgsqlDbType.Bigint);
                CopyRows.WriteNullable(importer, Microseconds(row.OccurredAt), NpgsqlDbType.Bigint);
                if (e.Source is null)
                {
                    importer.WriteNull();
                }
                else
                {
                    importer.Write(e.Source, NpgsqlDbType.Text);
                }

                CopyRows.WriteNullable(importer, e.Ttl is { } ttl ? ttl.Ticks / TimeSpan.TicksPerMicrosecond : (long?)null, NpgsqlDbType.Bigint);
            }

            written = await importer.CompleteAsync();
        }

        await transaction.CommitAsync();
        return written;
    }

    private static long? Microseconds(DateTimeOffset? time) =>
        time is { } t ? (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond : null;
}
