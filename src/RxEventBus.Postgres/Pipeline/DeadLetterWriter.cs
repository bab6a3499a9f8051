using System.Reactive.Concurrency;
using Npgsql;
using NpgsqlTypes;
using RxEventBus.Postgres.Internal;

namespace RxEventBus.Postgres.Pipeline;

// Stores dead letters in the dead-letter table, all of one batch in one transaction, before the bus hears that
// the consumer is done with them: a dead letter is accounted for only once it is stored. Storing is retried
// like a batch (transient failures quietly, others with the consumer degraded) until it succeeds or the
// consumer's stop gives up, in which case the events are still pending on the bus and listed as unwritten.
// A dead letter already stored (the same event failed again, after a replay) counts one more attempt.
internal sealed class DeadLetterWriter(NpgsqlDataSource dataSource, EventTable table, RetryPolicy retry, ConsumerHealth health)
{
    private readonly string _upsert = $"""
        INSERT INTO {table.DeadLettersQualifiedName} AS d ({EventTable.DeadLetterColumns})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, 1)
        ON CONFLICT (id) DO UPDATE SET
            attempts = d.attempts + 1,
            last_failed_at = excluded.last_failed_at,
            reason = excluded.reason,
            error_type = excluded.error_type,
            data = coalesce(excluded.data, d.data),
            data_type = coalesce(excluded.data_type, d.data_type)
        """;

    internal async Task StoreAsync(IReadOnlyList<PendingDeadLetter> letters, CancellationToken cancellationToken)
    {
        var failedAt = retry.Scheduler.Now.ToUniversalTime();
        var backoff = retry.Start();
        var failing = false;
        try
        {
            while (true)
            {
                try
                {
                    await WriteAsync(letters, failedAt, cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    // Text is made storable and data is bytea, so no row of ours should be refused: any failure
                    // that is not transient needs a person (a missing table, a revoked grant).
                    var kind = WriteFailures.Classify(e) == FailureKind.Transient ? FailureKind.Transient : FailureKind.NeedsAttention;
                    var attempt = backoff.Attempts + 1;
                    health.RetryScheduled(
                        $"Storing {letters.Count} dead letter(s) in {table.DeadLettersQualifiedName}", kind, e, attempt, backoff.NextDelay, ref failing);
                    await backoff.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            health.Recovered(ref failing);
        }
    }

    private async Task WriteAsync(IReadOnlyList<PendingDeadLetter> letters, DateTimeOffset failedAt, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var _ = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var __ = transaction.ConfigureAwait(false);
        var batch = new NpgsqlBatch(connection, transaction);
        await using (batch.ConfigureAwait(false))
        {
            foreach (var letter in letters)
            {
                batch.BatchCommands.Add(Command(letter, failedAt));
            }

            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // Not cancelled: a commit cut off by a stop may have happened anyway, and the dead letters would then be
        // reported unwritten though stored. The command timeout bounds it.
        await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
    }

    private NpgsqlBatchCommand Command(PendingDeadLetter letter, DateTimeOffset failedAt)
    {
        var @event = letter.Letter.Event;
        var command = new NpgsqlBatchCommand(_upsert);
        var parameters = command.Parameters;
        parameters.Add(new NpgsqlParameter<Guid> { NpgsqlDbType = NpgsqlDbType.Uuid, TypedValue = @event.Id });
        parameters.Add(Nullable(@event.TransactionId, NpgsqlDbType.Uuid));
        parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text, TypedValue = @event.Topic });
        parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = letter.Data is { Length: > 0 } data ? data : DBNull.Value });
        parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = @event.Data.GetType().FullName ?? (object)DBNull.Value });
        parameters.Add(Nullable(SafeUtc(@event.InitializedAt), NpgsqlDbType.TimestampTz));
        parameters.Add(Nullable(SafeUtc(@event.OccurredAt), NpgsqlDbType.TimestampTz));
        parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = StorableText.Of(@event.Source) ?? (object)DBNull.Value });
        parameters.Add(Nullable(@event.Ttl, NpgsqlDbType.Interval));
        parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text, TypedValue = StorableText.Of(letter.Letter.Reason) });
        parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text, TypedValue = StorableText.Of(letter.Letter.ErrorType) });
        parameters.Add(new NpgsqlParameter<DateTimeOffset> { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = failedAt });
        return command;
    }

    private static DateTimeOffset? SafeUtc(DateTimeOffset? time) => time?.ToUniversalTime();

    private static NpgsqlParameter Nullable<T>(T? value, NpgsqlDbType type)
        where T : struct =>
        new() { NpgsqlDbType = type, Value = value is { } v ? v : DBNull.Value };
}

// A dead letter on its way to the table: the delivery to answer once stored, the JSON if it could be made, and
// its sequence in the consumer's ledger of events in flight.
internal readonly record struct PendingDeadLetter(TrackedEvent Delivery, byte[]? Data, DeadLetter Letter, long Sequence);
