using System.Diagnostics;
using System.Reactive.Concurrency;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using RxEventBus.Postgres.Internal;

namespace RxEventBus.Postgres.Pipeline;

// The write stage (the seed's Bucket): one batch, one binary COPY, one transaction. It returns only when
// every row of the batch is committed or dead-lettered, and hands committed rows to `committed` (the ack)
// only after their transaction committed — never before, which is the seed's fault this fixes.
//
// Failures:
// - unique violation: some ids are already stored (a retry after an ambiguous commit, or a republished
//   event). COPY has no ON CONFLICT, so the batch is written again through a temp table and
//   INSERT … ON CONFLICT (id) DO NOTHING: one row per id, whatever happened before.
// - the data of a row is refused (SQLSTATE classes 22, 23, 54): the batch is halved until the refused rows
//   stand alone; they are dead-lettered, the rest commits.
// - anything else (connection lost, server restarting, a missing table, a revoked grant): the batch is kept
//   and retried with exponential backoff on the scheduler, for as long as it takes or until cancelled.
internal sealed class CopyWriter(
    NpgsqlDataSource dataSource,
    EventTable table,
    IScheduler scheduler,
    TimeSpan initialRetryDelay,
    TimeSpan maxRetryDelay,
    ConsumerCounters counters,
    PersistenceMetrics metrics,
    ILogger logger,
    Action<IReadOnlyList<EventRow>> committed,
    Action<EventRow, Exception> refused)
{
    private const string UniqueViolation = "23505";

    private readonly string _copyIntoTable = $"COPY {table.QualifiedName} ({EventTable.Columns}) FROM STDIN (FORMAT BINARY)";
    private readonly string _createStaging = $"CREATE TEMP TABLE rxeventbus_staging (LIKE {table.QualifiedName}) ON COMMIT DROP";
    private readonly string _copyIntoStaging = $"COPY rxeventbus_staging ({EventTable.Columns}) FROM STDIN (FORMAT BINARY)";
    private readonly string _insertFromStaging =
        $"INSERT INTO {table.QualifiedName} ({EventTable.Columns}) SELECT {EventTable.Columns} FROM rxeventbus_staging ON CONFLICT (id) DO NOTHING";

    // One span per batch, around every attempt, retry and half it takes (see BatchWriteTrace).
    internal async Task WriteAsync(IReadOnlyList<EventRow> rows, CancellationToken cancellationToken)
    {
        using var trace = new BatchWriteTrace(table, rows.Count);
        try
        {
            await WriteAsync(rows, trace, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Only a cancellation ends a write early: every other failure is retried or dead-lettered.
            trace.Cancelled();
            throw;
        }
    }

    private async Task WriteAsync(IReadOnlyList<EventRow> rows, BatchWriteTrace trace, CancellationToken cancellationToken)
    {
        var backoff = new Backoff(scheduler, initialRetryDelay, maxRetryDelay);
        var throughStaging = false;
        while (true)
        {
            try
            {
                await TimedCopyAsync(rows, throughStaging, trace, cancellationToken).ConfigureAwait(false);
                counters.Committed(rows.Count);
                committed(rows);
                return;
            }
            catch (PostgresException e) when (e.SqlState == UniqueViolation && !throughStaging)
            {
                Log.RewritingIdempotently(logger, rows.Count);
                throughStaging = true;
            }
            catch (PostgresException e) when (IsRowRefused(e))
            {
                if (rows.Count == 1)
                {
                    trace.DeadLettered();
                    refused(rows[0], e);
                    return;
                }

                var half = rows.Count / 2;
                await WriteAsync(rows.Take(half).ToArray(), trace, cancellationToken).ConfigureAwait(false);
                await WriteAsync(rows.Skip(half).ToArray(), trace, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                counters.Retried();
                Log.BatchRetry(logger, e, rows.Count, table.QualifiedName, backoff.Attempts + 1, backoff.NextDelay.TotalMilliseconds);
                trace.Retrying(backoff.Attempts + 1, e, backoff.NextDelay);
                await backoff.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // Errors about the values of rows (data exceptions, integrity violations other than a duplicate id,
    // program limits such as an oversized value): no retry can succeed, but the other rows may.
    private static bool IsRowRefused(PostgresException e) =>
        e.SqlState.StartsWith("22", StringComparison.Ordinal) ||
        (e.SqlState.StartsWith("23", StringComparison.Ordinal) && e.SqlState != UniqueViolation) ||
        e.SqlState.StartsWith("54", StringComparison.Ordinal);

    private async Task TimedCopyAsync(IReadOnlyList<EventRow> rows, bool throughStaging, BatchWriteTrace trace, CancellationToken cancellationToken)
    {
        trace.Attempt();
        var started = Stopwatch.GetTimestamp();
        try
        {
            await CopyAsync(rows, throughStaging, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            metrics.CopyFinished(started, e);
            throw;
        }

        metrics.CopyFinished(started, null);
    }

    private async Task CopyAsync(IReadOnlyList<EventRow> rows, bool throughStaging, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var _ = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var __ = transaction.ConfigureAwait(false);
        if (throughStaging)
        {
            await ExecuteAsync(connection, transaction, _createStaging, cancellationToken).ConfigureAwait(false);
        }

        var importer = await connection.BeginBinaryImportAsync(throughStaging ? _copyIntoStaging : _copyIntoTable, cancellationToken)
            .ConfigureAwait(false);
        await using (importer.ConfigureAwait(false))
        {
            foreach (var row in rows)
            {
                await WriteRowAsync(importer, row, cancellationToken).ConfigureAwait(false);
            }

            await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        if (throughStaging)
        {
            await ExecuteAsync(connection, transaction, _insertFromStaging, cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task WriteRowAsync(NpgsqlBinaryImporter importer, EventRow row, CancellationToken cancellationToken)
    {
        var @event = row.Event;
        await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(@event.Id, NpgsqlDbType.Uuid, cancellationToken).ConfigureAwait(false);
        await WriteNullableAsync(importer, @event.TransactionId, NpgsqlDbType.Uuid, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(@event.Topic, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(row.Data, NpgsqlDbType.Jsonb, cancellationToken).ConfigureAwait(false);
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

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type, CancellationToken cancellationToken)
        where T : struct =>
        value is { } v
            ? importer.WriteAsync(v, type, cancellationToken)
            : importer.WriteNullAsync(cancellationToken);

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        await using (command.ConfigureAwait(false))
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
