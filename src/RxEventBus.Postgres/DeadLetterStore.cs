using System.Reactive.Concurrency;
using System.Text;
using Dapper;
using Npgsql;
using RxEventBus.Postgres.Internal;

namespace RxEventBus.Postgres;

/// <summary>
/// The dead-letter table beside the events table (<see cref="EventTable.DeadLettersQualifiedName"/>): list and count
/// what could not be written, replay it into the events table once the cause is fixed, purge it.
/// </summary>
/// <remarks>
/// <para>To replay through the bus instead — so that its other subscribers see the event too — use
/// <see cref="PostgresConsumer.ReplayDeadLetterAsync"/>.</para>
/// <para>Each method opens a connection from the data source and returns it before completing, so one store may
/// be used from several threads at once. <see cref="PostgresConsumer.DeadLetterStore"/> stays usable after its
/// consumer is disposed (see <see cref="PostgresConsumer.Store"/>); a store made with the constructor is usable
/// for as long as its data source is not disposed.</para>
/// </remarks>
public sealed class DeadLetterStore
{
    /// <summary>The largest page <see cref="ListAsync"/> returns.</summary>
    public const int MaxPerPage = 10_000;

    private const string SelectColumns =
        "id AS Id, transaction_id AS TransactionId, topic AS Topic, data AS Data, data_type AS DataType, " +
        "initialized_at AS InitializedAt, occurred_at AS OccurredAt, source AS Source, ttl AS Ttl, reason AS Reason, " +
        "error_type AS ErrorType, first_failed_at AS FirstFailedAt, last_failed_at AS LastFailedAt, attempts AS Attempts";

    private readonly StoreConnections _connections;
    private readonly IScheduler _scheduler;

    /// <summary>Creates a store over the dead-letter table of <paramref name="table"/>.</summary>
    /// <param name="dataSource">Where the tables live.</param>
    /// <param name="table">The events table; its dead letters are in <see cref="EventTable.DeadLettersQualifiedName"/>.</param>
    /// <param name="scheduler">The clock that stamps a failed replay.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public DeadLetterStore(NpgsqlDataSource dataSource, EventTable table, IScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(scheduler);
        _connections = new StoreConnections(dataSource);
        _scheduler = scheduler;
        Table = table;
    }

    // The consumer that made this store moves it off its pool when it disposes the pool (StoreConnections).
    internal StoreConnections Connections => _connections;

    /// <summary>The events table whose dead letters this store reads.</summary>
    public EventTable Table { get; }

    /// <summary>How many dead letters there are (of <paramref name="topic"/>, if given).</summary>
    /// <param name="topic">Only this topic; null for all.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<long> CountAsync(string? topic = null, CancellationToken cancellationToken = default)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                $"SELECT count(*) FROM {Table.DeadLettersQualifiedName}{TopicClause(topic)}",
                new { topic },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>One page of dead letters, most recently failed first.</summary>
    /// <param name="page">The page, from 1.</param>
    /// <param name="perPage">Dead letters per page, 1 to <see cref="MaxPerPage"/>.</param>
    /// <param name="topic">Only this topic; null for all.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="page"/> or <paramref name="perPage"/> is out of range.</exception>
    public async Task<IReadOnlyList<StoredDeadLetter>> ListAsync(
        int page = 1, int perPage = 100, string? topic = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(page, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(perPage, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(perPage, MaxPerPage);
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var rows = await connection.QueryAsync<Row>(new CommandDefinition(
                $"SELECT {SelectColumns} FROM {Table.DeadLettersQualifiedName}{TopicClause(topic)} " +
                "ORDER BY last_failed_at DESC, id LIMIT @perPage OFFSET @offset",
                new { topic, perPage, offset = (long)(page - 1) * perPage },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            return [.. rows.Select(ToDeadLetter)];
        }
    }

    /// <summary>The dead letter of event <paramref name="id"/>, or null.</summary>
    /// <param name="id">The event's id.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<StoredDeadLetter?> FindAsync(Guid id, CancellationToken cancellationToken = default)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
                $"SELECT {SelectColumns} FROM {Table.DeadLettersQualifiedName} WHERE id = @id",
                new { id },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            return row is null ? null : ToDeadLetter(row);
        }
    }

    /// <summary>
    /// Writes the dead letter of event <paramref name="id"/> straight into the events table, as it was stored, and
    /// removes it — in one transaction. Use it once the cause is fixed (a constraint relaxed, a column widened); a
    /// dead letter whose payload could not be made, or that the table still refuses, stays, with one more attempt
    /// and the new reason.
    /// </summary>
    /// <param name="id">The event's id.</param>
    /// <param name="defaultTtl">The ttl of an event that has none, for its expiry (the consumer's
    /// <see cref="PostgresPersistenceOptions.DefaultTtl"/>).</param>
    /// <param name="cancellationToken">Cancels the statements.</param>
    public async Task<DeadLetterReplay> ReplayToTableAsync(Guid id, TimeSpan defaultTtl, CancellationToken cancellationToken = default)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            string? failure;
            string? errorType;
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var hasData = await connection.QuerySingleOrDefaultAsync<bool?>(new CommandDefinition(
                    $"SELECT data IS NOT NULL FROM {Table.DeadLettersQualifiedName} WHERE id = @id FOR UPDATE",
                    new { id },
                    transaction,
                    cancellationToken: cancellationToken)).ConfigureAwait(false);
                if (hasData is null)
                {
                    return new DeadLetterReplay(id, DeadLetterReplayOutcome.NotFound);
                }

                if (hasData == false)
                {
                    (failure, errorType) = ("its payload could not be serialized, so there is nothing to write", "no_data");
                }
                else
                {
                    try
                    {
                        var inserted = await InsertAsync(connection, transaction, id, defaultTtl, cancellationToken).ConfigureAwait(false);
                        if (!inserted && await StoredTopicAsync(connection, transaction, id, cancellationToken).ConfigureAwait(false) is { } other)
                        {
                            // The id is stored, but for an event of another topic: not this event. It stays a dead letter.
                            (failure, errorType) = ($"its id is already stored for an event of topic '{other}', and the table holds one row per id", PostgresErrorCodes.UniqueViolation);
                        }
                        else
                        {
                            await connection.ExecuteAsync(new CommandDefinition(
                                $"DELETE FROM {Table.DeadLettersQualifiedName} WHERE id = @id", new { id }, transaction,
                                cancellationToken: cancellationToken)).ConfigureAwait(false);
                            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                            if (inserted)
                            {
                                // Counted whoever replays: a consumer, the CLI, an operator's tool.
                                Internal.PersistenceMetrics.Replayed(Table);
                            }

                            return new DeadLetterReplay(id, inserted ? DeadLetterReplayOutcome.Replayed : DeadLetterReplayOutcome.AlreadyStored);
                        }
                    }
                    catch (PostgresException e) when (Internal.WriteFailures.Classify(e) == Internal.FailureKind.RowRefused)
                    {
                        // The table still refuses the row (its data, a constraint). Anything else (a lost
                        // connection, a revoked grant) is the caller's to retry or fix, so it is thrown.
                        (failure, errorType) = ($"PostgreSQL refused its row again ({e.SqlState}: {e.MessageText})", e.SqlState);
                    }
                }
            }

            // The transaction rolled back; the new failure is counted on its own.
            await connection.ExecuteAsync(new CommandDefinition(
                $"UPDATE {Table.DeadLettersQualifiedName} SET attempts = attempts + 1, last_failed_at = @at, reason = @reason, " +
                "error_type = @errorType WHERE id = @id",
                new { id, at = _scheduler.Now.ToUniversalTime(), reason = $"Replay failed: {failure}.", errorType },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            return new DeadLetterReplay(id, DeadLetterReplayOutcome.FailedAgain, failure);
        }
    }

    // The dead letter's payload as stored, byte for byte: StoredDeadLetter.Data is text, and a bytea table's payload
    // from a serializer of another format would not survive a round trip through UTF-8. Null when there is no dead
    // letter or no payload.
    internal async Task<byte[]?> PayloadAsync(Guid id, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await connection.QuerySingleOrDefaultAsync<byte[]?>(new CommandDefinition(
                $"SELECT data FROM {Table.DeadLettersQualifiedName} WHERE id = @id", new { id },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes the dead letter of event <paramref name="id"/>.</summary>
    /// <param name="id">The event's id.</param>
    /// <param name="cancellationToken">Cancels the statement.</param>
    /// <returns>Whether there was one.</returns>
    public async Task<bool> PurgeAsync(Guid id, CancellationToken cancellationToken = default)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await connection.ExecuteAsync(new CommandDefinition(
                $"DELETE FROM {Table.DeadLettersQualifiedName} WHERE id = @id", new { id },
                cancellationToken: cancellationToken)).ConfigureAwait(false) > 0;
        }
    }

    /// <summary>Deletes every dead letter that last failed before <paramref name="before"/> (null: every one).</summary>
    /// <param name="before">Exclusive upper bound on the last failure; null for all.</param>
    /// <param name="cancellationToken">Cancels the statement.</param>
    /// <returns>How many were deleted.</returns>
    public async Task<long> PurgeAllAsync(DateTimeOffset? before = null, CancellationToken cancellationToken = default)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await connection.ExecuteAsync(new CommandDefinition(
                $"DELETE FROM {Table.DeadLettersQualifiedName}{(before is null ? "" : " WHERE last_failed_at < @before")}",
                new { before = before?.ToUniversalTime() },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
    }

    // The stored payload bytes become the events table's data column as the table has it — not as this store's
    // EventTable design says, so that a store configured for another payload type still replays into any table:
    // the UTF-8 JSON is parsed into jsonb or json, and a bytea column takes the bytes as they are. The expiry is
    // computed as the consumer computes it.
    private async Task<bool> InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, TimeSpan defaultTtl, CancellationToken cancellationToken)
    {
        var dataType = await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = @table::regclass AND attname = 'data' AND NOT attisdropped",
            new { table = Table.QualifiedName },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        var data = dataType switch
        {
            "bytea" => "data",
            "json" => "convert_from(data, 'UTF8')::json",
            _ => "convert_from(data, 'UTF8')::jsonb",
        };
        return await connection.ExecuteAsync(new CommandDefinition(
            $"INSERT INTO {Table.QualifiedName} ({EventTable.Columns}) " +
            $"SELECT id, transaction_id, topic, {data}, initialized_at, occurred_at, source, ttl, " +
            "occurred_at + coalesce(ttl, @defaultTtl) " +
            $"FROM {Table.DeadLettersQualifiedName} WHERE id = @id ON CONFLICT {Table.EventsShape.ConflictTarget} DO NOTHING",
            new { id, defaultTtl },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false) == 1;
    }

    // The topic of the stored event with this id, when it differs from the dead letter's; null when it is the same event.
    private async Task<string?> StoredTopicAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, CancellationToken cancellationToken) =>
        await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
            $"SELECT e.topic FROM {Table.QualifiedName} e JOIN {Table.DeadLettersQualifiedName} d ON d.id = e.id " +
            "WHERE e.id = @id AND e.topic <> d.topic",
            new { id },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);

    private static string TopicClause(string? topic) => topic is null ? "" : " WHERE topic = @topic";

    private static StoredDeadLetter ToDeadLetter(Row row) => new(
        row.Id,
        row.TransactionId,
        row.Topic,
        row.Data is null ? null : Encoding.UTF8.GetString(row.Data),
        row.DataType,
        Utc(row.InitializedAt),
        Utc(row.OccurredAt),
        row.Source,
        row.Ttl,
        row.Reason,
        row.ErrorType,
        Utc(row.FirstFailedAt)!.Value,
        Utc(row.LastFailedAt)!.Value,
        row.Attempts);

    // Npgsql reads timestamptz as a UTC DateTime.
    private static DateTimeOffset? Utc(DateTime? value) =>
        value is { } time ? new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc), TimeSpan.Zero) : null;

    // One row as Dapper reads it; mapped by the aliases in SelectColumns.
    private sealed class Row
    {
        public Guid Id { get; set; }

        public Guid? TransactionId { get; set; }

        public string Topic { get; set; } = "";

        public byte[]? Data { get; set; }

        public string? DataType { get; set; }

        public DateTime? InitializedAt { get; set; }

        public DateTime? OccurredAt { get; set; }

        public string? Source { get; set; }

        public TimeSpan? Ttl { get; set; }

        public string Reason { get; set; } = "";

        public string ErrorType { get; set; } = "";

        public DateTime? FirstFailedAt { get; set; }

        public DateTime? LastFailedAt { get; set; }

        public int Attempts { get; set; }
    }
}
