using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using RxEventBus.Postgres.Internal;

namespace RxEventBus.Postgres.Pipeline;

// The write stage: one batch, one binary COPY, one transaction. It returns only when every row of the batch is
// committed or refused, and says which in its WriteResult; what the consumer then does with each row (the ack,
// the dead letter, the awaited outcome) happens after the commit, never before it.
//
// Failures (WriteFailures classifies them):
// - a duplicate id: some ids are already stored (a retry after an ambiguous commit, or a republished event).
//   COPY has no ON CONFLICT, so the batch is written again through a temp table and
//   INSERT … ON CONFLICT (id) DO NOTHING: one row per id, whatever happened before.
// - a row the server refuses (a data exception, an integrity violation, a program limit): the batch is
//   halved until the refused rows stand alone; they are refused, the rest commits.
// - a row the client cannot write (an expiry past year 9999 from a huge ttl, a value its type cannot send):
//   that row is refused and the others are written again at once.
// - anything else is retried with exponential backoff on the scheduler, for as long as it takes or until
//   cancelled: transient failures quietly, failures that need a person with the consumer degraded and an
//   error logged (ConsumerHealth).
//
// With `notify`, each batch's transaction sends one pg_notify on the table's channel after its rows and before
// its COMMIT: PostgreSQL queues a notification with the transaction and delivers it only if the transaction
// commits, so a listener is never woken for rows that were rolled back, and gets one wake-up per batch.
internal sealed class CopyWriter(
    NpgsqlDataSource dataSource,
    EventTable table,
    RetryPolicy retry,
    ConsumerHealth health,
    PersistenceMetrics metrics,
    ILogger logger,
    bool notify)
{
    // The data column's type as the table's design names it: the schema check at start (SchemaManager) refuses a
    // table whose column has another type, so this is the column's type too. The staging table is made from the
    // table, so it has the same.
    private readonly NpgsqlDbType _dataType = table.Design.Payload switch
    {
        PayloadType.Json => NpgsqlDbType.Json,
        PayloadType.Bytea => NpgsqlDbType.Bytea,
        _ => NpgsqlDbType.Jsonb,
    };

    private readonly string _copyIntoTable = $"COPY {table.QualifiedName} ({EventTable.Columns}) FROM STDIN (FORMAT BINARY)";
    // Only the columns the consumer writes, with their types and nothing else: LIKE would copy tx's NOT NULL
    // without its default, and refuse every staged row.
    private readonly string _createStaging =
        $"CREATE TEMP TABLE rxeventbus_staging ON COMMIT DROP AS SELECT {EventTable.Columns} FROM {table.QualifiedName} WITH NO DATA";
    private readonly string _copyIntoStaging = $"COPY rxeventbus_staging ({EventTable.Columns}) FROM STDIN (FORMAT BINARY)";
    private readonly string _insertFromStaging =
        $"INSERT INTO {table.QualifiedName} ({EventTable.Columns}) SELECT {EventTable.Columns} FROM rxeventbus_staging ON CONFLICT {table.EventsShape.ConflictTarget} DO NOTHING";

    // The rows skipped as duplicates whose id is stored for an event of another topic: not the same event, so not a
    // duplicate, but a different event that the table (one row per id) cannot hold.
    private readonly string _otherTopics =
        $"SELECT s.id, s.topic, t.topic FROM rxeventbus_staging s JOIN {table.QualifiedName} t ON t.id = s.id WHERE t.topic <> s.topic";

    // One span per batch, around every attempt, retry and half it takes (see BatchWriteTrace).
    internal async Task<WriteResult> WriteAsync(IReadOnlyList<EventRow> rows, CancellationToken cancellationToken)
    {
        using var trace = new BatchWriteTrace(table, rows.Count);
        var result = new WriteResult();
        try
        {
            await WriteAsync(rows, result, trace, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Only a cancellation ends a write early: every other failure is retried or refused.
            trace.Cancelled();
            throw;
        }

        return result;
    }

    private async Task WriteAsync(IReadOnlyList<EventRow> rows, WriteResult result, BatchWriteTrace trace, CancellationToken cancellationToken)
    {
        var backoff = retry.Start();
        var throughStaging = false;
        var failing = false;
        try
        {
            while (rows.Count != 0)
            {
                try
                {
                    var (inserted, otherTopics) = await TimedCopyAsync(rows, throughStaging, trace, cancellationToken).ConfigureAwait(false);
                    var clashes = 0;
                    foreach (var row in rows)
                    {
                        if (otherTopics is not null && otherTopics.TryGetValue((row.Event.Id, row.Event.Topic), out var storedTopic))
                        {
                            clashes++;
                            trace.DeadLettered();
                            result.Refuse(new RowRefusal(
                                row,
                                $"its id is already stored for an event of topic '{storedTopic}', and the table holds one row per id",
                                PostgresErrorCodes.UniqueViolation,
                                new InvalidOperationException($"Id {row.Event.Id} is stored for topic '{storedTopic}', not '{row.Event.Topic}'.")));
                        }
                    }

                    result.Committed(rows.Count - clashes, rows.Count - clashes - inserted);
                    return;
                }
                catch (RowWriteException e)
                {
                    Refuse(rows[e.Index], e.InnerException!, result, trace);
                    rows = [.. rows.Where((_, i) => i != e.Index)];
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    var kind = WriteFailures.Classify(e);
                    if (kind == FailureKind.Duplicate && !throughStaging)
                    {
                        Log.RewritingIdempotently(logger, rows.Count);
                        throughStaging = true;
                        continue;
                    }

                    if (kind == FailureKind.RowRefused)
                    {
                        if (rows.Count == 1)
                        {
                            Refuse(rows[0], e, result, trace);
                            return;
                        }

                        var half = rows.Count / 2;
                        await WriteAsync(rows.Take(half).ToArray(), result, trace, cancellationToken).ConfigureAwait(false);
                        await WriteAsync(rows.Skip(half).ToArray(), result, trace, cancellationToken).ConfigureAwait(false);
                        return;
                    }

                    // A duplicate that the idempotent rewrite itself meets cannot come from our rows: a person must look.
                    var attempt = backoff.Attempts + 1;
                    health.RetryScheduled(
                        $"Writing a batch of {rows.Count} rows", kind == FailureKind.Duplicate ? FailureKind.NeedsAttention : kind,
                        e, attempt, backoff.NextDelay, ref failing);
                    trace.Retrying(attempt, e, backoff.NextDelay);
                    await backoff.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            health.Recovered(ref failing);
        }
    }

    private static void Refuse(EventRow row, Exception error, WriteResult result, BatchWriteTrace trace)
    {
        trace.DeadLettered();
        var reason = error is PostgresException postgres
            ? $"PostgreSQL refused its row ({postgres.SqlState}: {postgres.MessageText})"
            : $"its row cannot be written ({error.GetType().Name}: {error.Message})";
        result.Refuse(new RowRefusal(row, reason, WriteFailures.ErrorType(error), error));
    }

    private async Task<(int Inserted, Dictionary<(Guid, string), string>? OtherTopics)> TimedCopyAsync(
        IReadOnlyList<EventRow> rows, bool throughStaging, BatchWriteTrace trace, CancellationToken cancellationToken)
    {
        trace.Attempt();
        var started = Stopwatch.GetTimestamp();
        (int, Dictionary<(Guid, string), string>?) inserted;
        try
        {
            inserted = await CopyAsync(rows, throughStaging, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            metrics.CopyFinished(started, e);
            throw;
        }

        metrics.CopyFinished(started, null);
        return inserted;
    }

    // Returns how many rows were inserted — all of them, or through the staging table those whose id was new — and,
    // through the staging table, the rows whose id is stored for another topic (by id and topic: the stored topic).
    private async Task<(int Inserted, Dictionary<(Guid, string), string>? OtherTopics)> CopyAsync(
        IReadOnlyList<EventRow> rows, bool throughStaging, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var _ = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var __ = transaction.ConfigureAwait(false);
        if (throughStaging)
        {
            await ExecuteAsync(connection, transaction, _createStaging, cancellationToken).ConfigureAwait(false);
        }

        await CopyRowsAsync(connection, throughStaging ? _copyIntoStaging : _copyIntoTable, _dataType, rows, cancellationToken).ConfigureAwait(false);
        var inserted = rows.Count;
        Dictionary<(Guid, string), string>? otherTopics = null;
        if (throughStaging)
        {
            inserted = await ExecuteAsync(connection, transaction, _insertFromStaging, cancellationToken).ConfigureAwait(false);
            if (inserted < rows.Count)
            {
                otherTopics = await OtherTopicsAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            }
        }

        if (notify)
        {
            await NotifyAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        }

        // Not cancelled: a stop's cancellation arriving during the COMMIT would leave its outcome unknown, and rows
        // the server stored would be reported unwritten. The command timeout bounds it.
        await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        return (inserted, otherTopics);
    }

    private async Task NotifyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand("SELECT pg_notify($1, '')", connection, transaction);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = table.NotificationChannel, NpgsqlDbType = NpgsqlDbType.Text });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<Dictionary<(Guid, string), string>?> OtherTopicsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        Dictionary<(Guid, string), string>? found = null;
        var command = new NpgsqlCommand(_otherTopics, connection, transaction);
        await using (command.ConfigureAwait(false))
        {
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    (found ??= [])[(reader.GetGuid(0), reader.GetString(1))] = reader.GetString(2);
                }
            }
        }

        return found;
    }

    private static async Task CopyRowsAsync(
        NpgsqlConnection connection, string copy, NpgsqlDbType dataType, IReadOnlyList<EventRow> rows, CancellationToken cancellationToken)
    {
        var importer = await connection.BeginBinaryImportAsync(copy, cancellationToken).ConfigureAwait(false);
        RowWriteException? refused = null;
        try
        {
            for (var i = 0; i < rows.Count; i++)
            {
                try
                {
                    await WriteRowAsync(importer, rows[i], dataType, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is ArgumentException or InvalidCastException or OverflowException or FormatException or NotSupportedException)
                {
                    // A value of this row that the client cannot send: a problem of the row, not of the database.
                    refused = new RowWriteException(i, e);
                    break;
                }
            }

            if (refused is null)
            {
                await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            try
            {
                // Without CompleteAsync, disposing cancels the COPY; the transaction then rolls back.
                await importer.DisposeAsync().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Abandoning the COPY for a refused row: an error of the cancellation itself adds nothing, and must not hide the row's.
            catch (Exception) when (refused is not null)
#pragma warning restore CA1031
            {
            }
        }

        if (refused is not null)
        {
            throw refused;
        }
    }

    private static async Task WriteRowAsync(NpgsqlBinaryImporter importer, EventRow row, NpgsqlDbType dataType, CancellationToken cancellationToken)
    {
        var @event = row.Event;

        // Computed before the row starts, so that a value that cannot be made (an expiry past year 9999) leaves
        // no half-written row behind.
        var initializedAt = row.InitializedAt;
        var occurredAt = row.OccurredAt;
        var expiresAt = row.ExpiresAt;

        await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(@event.Id, NpgsqlDbType.Uuid, cancellationToken).ConfigureAwait(false);
        await WriteNullableAsync(importer, @event.TransactionId, NpgsqlDbType.Uuid, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(@event.Topic, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(row.Data, dataType, cancellationToken).ConfigureAwait(false);
        await WriteNullableAsync(importer, initializedAt, NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
        await WriteNullableAsync(importer, occurredAt, NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
        if (@event.Source is null)
        {
            await importer.WriteNullAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await importer.WriteAsync(@event.Source, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
        }

        await WriteNullableAsync(importer, @event.Ttl, NpgsqlDbType.Interval, cancellationToken).ConfigureAwait(false);
        await WriteNullableAsync(importer, expiresAt, NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
    }

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type, CancellationToken cancellationToken)
        where T : struct =>
        value is { } v
            ? importer.WriteAsync(v, type, cancellationToken)
            : importer.WriteNullAsync(cancellationToken);

    private static async Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        await using (command.ConfigureAwait(false))
        {
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}

// Thrown inside the write stage when the client cannot write one row's values; the row at `Index` is refused.
#pragma warning disable CA1032, CA1064 // Internal, never leaves the write stage: no serialization or standard constructors needed.
internal sealed class RowWriteException(int index, Exception inner) : Exception("A row's values cannot be written.", inner)
#pragma warning restore CA1032, CA1064
{
    internal int Index { get; } = index;
}
