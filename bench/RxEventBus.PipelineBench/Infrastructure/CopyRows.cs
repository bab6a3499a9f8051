using Npgsql;
using NpgsqlTypes;
using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench.Infrastructure;

// How the values of a row reach NpgsqlBinaryImporter.
internal enum RowWriting
{
    // StartRow/Write: what Npgsql's own COPY example does. Each call only copies into the connection's write
    // buffer, and flushes (a blocking socket write) when the buffer is full.
    Sync,

    // StartRowAsync/WriteAsync for every value: what CopyWriter.WriteRowAsync does today.
    Async,
}

// Binary COPY of one batch in one transaction, the way CopyWriter.CopyAsync does it (open a pooled
// connection, begin, COPY, complete, commit), with either way of writing the rows. Contenders (a) and (c)
// and the prototypes share it, so "same COPY code" is literally the same code.
internal static class CopyRows
{
    internal static string CopyCommand(EventTable table) =>
        $"COPY {table.QualifiedName} ({EventTable.Columns}) FROM STDIN (FORMAT BINARY)";

    // The data column's NpgsqlDbType for the table's payload type, as CopyWriter picks it: the same UTF-8 JSON
    // bytes go out whatever the type. A payload type this harness does not know is refused, never written as jsonb.
    internal static NpgsqlDbType DataType(PayloadType payload) => payload switch
    {
        PayloadType.Jsonb => NpgsqlDbType.Jsonb,
        PayloadType.Json => NpgsqlDbType.Json,
        PayloadType.Bytea => NpgsqlDbType.Bytea,
        _ => throw new NotSupportedException($"The harness cannot write payload type {payload}: jsonb, json or bytea."),
    };

    // The data column's SQL type for the payload type (EventTable.CreateScript's; PreIssue12Table uses it too).
    internal static string ColumnType(PayloadType payload) => payload switch
    {
        PayloadType.Jsonb => "jsonb",
        PayloadType.Json => "json",
        PayloadType.Bytea => "bytea",
        _ => throw new NotSupportedException($"The harness cannot write payload type {payload}: jsonb, json or bytea."),
    };

    internal static async Task<ulong> CopyBatchAsync<TRow>(
        NpgsqlDataSource dataSource,
        string copyCommand,
        NpgsqlDbType dataType,
        IReadOnlyList<TRow> rows,
        Func<TRow, RowValues> values,
        RowWriting writing,
        CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var _ = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var __ = transaction.ConfigureAwait(false);
        ulong written;
        var importer = await connection.BeginBinaryImportAsync(copyCommand, cancellationToken).ConfigureAwait(false);
        await using (importer.ConfigureAwait(false))
        {
            if (writing == RowWriting.Sync)
            {
                for (var i = 0; i < rows.Count; i++)
                {
                    WriteRow(importer, values(rows[i]), dataType);
                }
            }
            else
            {
                for (var i = 0; i < rows.Count; i++)
                {
                    await WriteRowAsync(importer, values(rows[i]), dataType, cancellationToken).ConfigureAwait(false);
                }
            }

            written = await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return written;
    }

    // The prototype of the recommended CopyWriter change: the same values, the same NpgsqlDbTypes, the same
    // order as CopyWriter.WriteRowAsync, through the synchronous API. `dataType`: DataType(the table's payload).
    internal static void WriteRow(NpgsqlBinaryImporter importer, in RowValues row, NpgsqlDbType dataType)
    {
        var @event = row.Event;
        importer.StartRow();
        importer.Write(@event.Id, NpgsqlDbType.Uuid);
        WriteNullable(importer, @event.TransactionId, NpgsqlDbType.Uuid);
        importer.Write(@event.Topic, NpgsqlDbType.Text);
        importer.Write(row.Data, dataType);
        WriteNullable(importer, row.InitializedAt, NpgsqlDbType.TimestampTz);
        WriteNullable(importer, row.OccurredAt, NpgsqlDbType.TimestampTz);
        if (@event.Source is null)
        {
            importer.WriteNull();
        }
        else
        {
            importer.Write(@event.Source, NpgsqlDbType.Text);
        }

        WriteNullable(importer, @event.Ttl, NpgsqlDbType.Interval);
        WriteNullable(importer, row.ExpiresAt, NpgsqlDbType.TimestampTz);
    }

    // A line-for-line copy of CopyWriter.WriteRowAsync (src/RxEventBus.Postgres/Pipeline/CopyWriter.cs).
    internal static async Task WriteRowAsync(NpgsqlBinaryImporter importer, RowValues row, NpgsqlDbType dataType, CancellationToken cancellationToken)
    {
        var @event = row.Event;
        await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(@event.Id, NpgsqlDbType.Uuid, cancellationToken).ConfigureAwait(false);
        await WriteNullableAsync(importer, @event.TransactionId, NpgsqlDbType.Uuid, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(@event.Topic, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(row.Data, dataType, cancellationToken).ConfigureAwait(false);
        await WriteNullableAsync(importer, row.InitializedAt, NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
        await WriteNullableAsync(importer, row.OccurredAt, NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
        if (@event.Source is null)
        {
            await importer.WriteNullAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await importer.WriteAsync(@event.Source, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
        }

        await WriteNullableAsync(importer, @event.Ttl, NpgsqlDbType.Interval, cancellationToken).ConfigureAwait(false);
        await WriteNullableAsync(importer, row.ExpiresAt, NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
    }

    internal static void WriteNullable<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type)
        where T : struct
    {
        if (value is { } v)
        {
            importer.Write(v, type);
        }
        else
        {
            importer.WriteNull();
        }
    }

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type, CancellationToken cancellationToken)
        where T : struct =>
        value is { } v
            ? importer.WriteAsync(v, type, cancellationToken)
            : importer.WriteNullAsync(cancellationToken);
}

// The values of one row, whichever type carries them (the harness's BenchRow or the library's EventRow).
internal readonly record struct RowValues(Event Event, byte[] Data, DateTimeOffset? InitializedAt, DateTimeOffset? OccurredAt, DateTimeOffset? ExpiresAt);
