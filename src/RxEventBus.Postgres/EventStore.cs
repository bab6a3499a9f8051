using System.Buffers;
using System.Reactive.Concurrency;
using System.Runtime.CompilerServices;
using System.Text;
using Dapper;
using Npgsql;
using RxEventBus.Postgres.Internal;

namespace RxEventBus.Postgres;

/// <summary>
/// Reads and deletes persisted events: count, count per topic (in all or per interval of time), find by id or transaction, page through, delete, plus
/// <see cref="ReadAsync"/> to stream events in the order they occurred for replay or export. An event read
/// back equals the one published, provided the serializer maps its topic to the payload's type and its times
/// have no finer precision than PostgreSQL's microseconds.
/// </summary>
/// <remarks>
/// Pages and streams are ordered by <c>occurred_at</c>, then <c>id</c>; events with no
/// <see cref="Event.OccurredAt"/> come last, and a <c>since</c>, <see cref="EventFilter.Since"/> or
/// <see cref="EventFilter.Until"/> bound leaves them out. Each method opens a connection from the data source
/// and returns it before completing (<see cref="ReadAsync"/>: when the enumeration ends or is disposed), so
/// one store may be used from several threads at once. <see cref="PostgresConsumer.Store"/> stays usable after its
/// consumer is disposed; a store made with the constructor is usable for as long as its data source is not
/// disposed.
/// </remarks>
public sealed class EventStore
{
    /// <summary>The largest page <see cref="AllAsync"/> and <see cref="FindAllByTransactionIdAsync"/> return.</summary>
    public const int MaxPerPage = 10_000;

    // Aliased to the names of StoredEvent's properties: Dapper maps by name, and its global
    // MatchNamesWithUnderscores setting belongs to the application, not to this library.
    private const string SelectColumns =
        "id AS Id, transaction_id AS TransactionId, topic AS Topic, data AS Data, initialized_at AS InitializedAt, " +
        "occurred_at AS OccurredAt, source AS Source, ttl AS Ttl";

    private const string Order = " ORDER BY occurred_at, id";

    private readonly StoreConnections _connections;
    private readonly IEventSerializer _serializer;

    /// <summary>Creates a store over <paramref name="table"/>.</summary>
    /// <param name="dataSource">Where the table lives.</param>
    /// <param name="table">The events table.</param>
    /// <param name="serializer">Turns the stored payloads (JSON, or a bytea column's bytes) back into objects (use the one that wrote them).</param>
    /// <param name="scheduler">The clock that decides which events have expired.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public EventStore(NpgsqlDataSource dataSource, EventTable table, IEventSerializer serializer, IScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(serializer);
        ArgumentNullException.ThrowIfNull(scheduler);
        _connections = new StoreConnections(dataSource);
        _serializer = serializer;
        Table = table;
        Scheduler = scheduler;
    }

    // The consumer that made this store moves it off its pool when it disposes the pool (StoreConnections).
    internal StoreConnections Connections => _connections;

    /// <summary>The events table this store reads.</summary>
    public EventTable Table { get; }

    /// <summary>The clock that decides which events have expired (<see cref="DeleteExpiredAsync(CancellationToken)"/>).</summary>
    public IScheduler Scheduler { get; }

    /// <summary>The event with <paramref name="id"/>, or null if none is stored.</summary>
    /// <param name="id">The event's id.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<Event?> FindAsync(Guid id, CancellationToken cancellationToken = default)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var row = await connection.QuerySingleOrDefaultAsync<StoredEvent>(Command(
                $"SELECT {SelectColumns} FROM {Table.QualifiedName} WHERE id = @id",
                new { id },
                cancellationToken)).ConfigureAwait(false);
            return row is null ? null : ToEvent(row);
        }
    }

    /// <summary>
    /// One page of the events that occurred at or after <paramref name="since"/> (or all of them), in
    /// occurred order.
    /// </summary>
    /// <param name="page">The page, from 1; it starts after <c>(page - 1) * perPage</c> events.</param>
    /// <param name="perPage">Events per page, 1 to <see cref="MaxPerPage"/>.</param>
    /// <param name="since">Inclusive lower bound on <see cref="Event.OccurredAt"/>; null for every event.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="page"/> or <paramref name="perPage"/> is out of range.</exception>
    public async Task<IReadOnlyList<Event>> AllAsync(int page, int perPage, DateTimeOffset? since = null, CancellationToken cancellationToken = default)
    {
        var offset = Offset(page, perPage);
        return await PageAsync(
            $"SELECT {SelectColumns} FROM {Table.QualifiedName}{SinceClause(since)}{Order} LIMIT @perPage OFFSET @offset",
            new { since = since?.ToUniversalTime(), perPage, offset },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How many events occurred at or after <paramref name="since"/> (null: how many are stored).</summary>
    /// <param name="since">Inclusive lower bound on <see cref="Event.OccurredAt"/>; null for every event.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<long> CountAsync(DateTimeOffset? since = null, CancellationToken cancellationToken = default)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await connection.ExecuteScalarAsync<long>(Command(
                $"SELECT count(*) FROM {Table.QualifiedName}{SinceClause(since)}",
                new { since = since?.ToUniversalTime() },
                cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// How many events each topic has among those that occurred at or after <paramref name="since"/>, ordered
    /// by topic (ordinal). Topics without events are absent.
    /// </summary>
    /// <param name="since">Inclusive lower bound on <see cref="Event.OccurredAt"/>; null for every event.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<IReadOnlyList<TopicCount>> CountPerTopicAsync(DateTimeOffset? since = null, CancellationToken cancellationToken = default)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // COLLATE "C" orders by code point, so the order does not depend on the database's locale.
            var counts = await connection.QueryAsync<TopicCount>(Command(
                $"SELECT topic AS Topic, count(*) AS Count FROM {Table.QualifiedName}{SinceClause(since)} GROUP BY topic ORDER BY topic COLLATE \"C\"",
                new { since = since?.ToUniversalTime() },
                cancellationToken)).ConfigureAwait(false);
            return counts.AsList();
        }
    }

    /// <summary>
    /// How many events each topic has in each interval of <paramref name="interval"/>, among those that occurred at
    /// or after <paramref name="since"/> and before <paramref name="until"/>: the series behind a chart of counts
    /// per topic over time. Ordered by interval, then topic (ordinal); an interval in which a topic has no events
    /// is absent, and so are events with no <see cref="Event.OccurredAt"/>.
    /// </summary>
    /// <remarks>
    /// Intervals are aligned to whole multiples of <paramref name="interval"/> since the Unix epoch (UTC), so a
    /// 5-minute interval starts at :00, :05, … of every hour and two calls agree on where intervals fall. A
    /// <paramref name="since"/> inside an interval counts only the part of it from <paramref name="since"/> on.
    /// The query reads the <c>occurred_at</c> index for the range and counts every row in it, so the cost grows with
    /// the rows in the range, not with the number of intervals; and the result has at most one entry per topic and
    /// interval, so a narrow interval over a long range returns many.
    /// </remarks>
    /// <param name="interval">The width of an interval, a whole number of seconds from 1 second.</param>
    /// <param name="since">Inclusive lower bound on <see cref="Event.OccurredAt"/>; null for no bound.</param>
    /// <param name="until">Exclusive upper bound on <see cref="Event.OccurredAt"/>; null for no bound.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is not a whole number of seconds from 1,
    /// or <paramref name="until"/> is before <paramref name="since"/>.</exception>
    public async Task<IReadOnlyList<TopicIntervalCount>> CountPerTopicOverTimeAsync(
        TimeSpan interval, DateTimeOffset? since, DateTimeOffset? until, CancellationToken cancellationToken = default)
    {
        if (interval < TimeSpan.FromSeconds(1) || interval.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(interval), interval, "interval must be a whole number of seconds, at least 1.");
        }

        if (since is { } from && until is { } to && to < from)
        {
            throw new ArgumentOutOfRangeException(nameof(until), until, $"until must not be before since ({from:O}).");
        }

        var seconds = (long)interval.TotalSeconds;
        var where = " WHERE occurred_at IS NOT NULL" +
            (since is null ? "" : " AND occurred_at >= @since") +
            (until is null ? "" : " AND occurred_at < @until");
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // floor(epoch / width) rather than date_bin, which needs PostgreSQL 14. date_part is a double on every
            // version (extract is numeric from 14 on): it holds this era's times to a fraction of a microsecond, so an
            // event 1 µs before an edge stays before it. No ORDER BY: the planner cannot tell how few intervals there
            // are, and to deliver them in order it sorted every row before grouping them (1.3 s for 1M rows against
            // 0.6 s hashed; docs/benchmarks.md); the few groups are sorted here instead.
            var rows = await connection.QueryAsync<(long Interval, string Topic, long Count)>(Command(
                $"SELECT floor(date_part('epoch', occurred_at) / @seconds)::bigint, topic, count(*) FROM {Table.QualifiedName}{where} GROUP BY 1, 2",
                new { seconds, since = since?.ToUniversalTime(), until = until?.ToUniversalTime() },
                cancellationToken)).ConfigureAwait(false);
            return rows
                .OrderBy(r => r.Interval).ThenBy(r => r.Topic, StringComparer.Ordinal)
                .Select(r => new TopicIntervalCount(DateTimeOffset.UnixEpoch.AddSeconds(r.Interval * seconds), r.Topic, r.Count))
                .ToList();
        }
    }

    /// <summary>
    /// One page of the events of <paramref name="transactionId"/> that occurred at or after
    /// <paramref name="since"/>, in occurred order.
    /// </summary>
    /// <param name="transactionId">The transaction.</param>
    /// <param name="page">The page, from 1.</param>
    /// <param name="perPage">Events per page, 1 to <see cref="MaxPerPage"/>.</param>
    /// <param name="since">Inclusive lower bound on <see cref="Event.OccurredAt"/>; null for every event.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="page"/> or <paramref name="perPage"/> is out of range.</exception>
    public async Task<IReadOnlyList<Event>> FindAllByTransactionIdAsync(
        Guid transactionId, int page, int perPage, DateTimeOffset? since = null, CancellationToken cancellationToken = default)
    {
        var offset = Offset(page, perPage);
        return await PageAsync(
            $"SELECT {SelectColumns} FROM {Table.QualifiedName} WHERE transaction_id = @transactionId" +
            $"{(since is null ? "" : " AND occurred_at >= @since")}{Order} LIMIT @perPage OFFSET @offset",
            new { transactionId, since = since?.ToUniversalTime(), perPage, offset },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// How many events of <paramref name="transactionId"/> occurred at or after <paramref name="since"/> (null:
    /// how many the transaction has stored). Served by the <c>transaction_id</c> index.
    /// </summary>
    /// <param name="transactionId">The transaction.</param>
    /// <param name="since">Inclusive lower bound on <see cref="Event.OccurredAt"/>; null for every event.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<long> CountByTransactionIdAsync(Guid transactionId, DateTimeOffset? since = null, CancellationToken cancellationToken = default)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await connection.ExecuteScalarAsync<long>(Command(
                $"SELECT count(*) FROM {Table.QualifiedName} WHERE transaction_id = @transactionId" +
                (since is null ? "" : " AND occurred_at >= @since"),
                new { transactionId, since = since?.ToUniversalTime() },
                cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes the event with <paramref name="id"/>.</summary>
    /// <param name="id">The event's id.</param>
    /// <param name="cancellationToken">Cancels the statement.</param>
    /// <returns>Whether an event was deleted.</returns>
    public async Task<bool> DeleteAsync(Guid id, CancellationToken cancellationToken = default)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await connection.ExecuteAsync(Command(
                $"DELETE FROM {Table.QualifiedName} WHERE id = @id",
                new { id },
                cancellationToken)).ConfigureAwait(false) > 0;
        }
    }

    /// <summary>
    /// Deletes the events whose ttl ran out before <see cref="Scheduler"/>'s current time: those with
    /// <c>expires_at &lt; now</c>, except those a named subscription has not yet passed (see
    /// <see cref="DeleteExpiredAsync(bool, CancellationToken)"/>). Rows without <c>expires_at</c> (events with no
    /// <see cref="Event.OccurredAt"/>) are kept.
    /// </summary>
    /// <remarks>
    /// The time is the scheduler's, never the database server's <c>now()</c>, so a <c>TestScheduler</c> decides
    /// what has expired and clock skew between application and server cannot delete live events.
    /// </remarks>
    /// <param name="cancellationToken">Cancels the statement.</param>
    /// <returns>The number of events deleted.</returns>
    public Task<int> DeleteExpiredAsync(CancellationToken cancellationToken = default) =>
        DeleteExpiredAsync(spareUnreadEvents: true, cancellationToken);

    /// <summary>
    /// Deletes the events whose ttl ran out before <see cref="Scheduler"/>'s current time (<c>expires_at &lt;
    /// now</c>); with <paramref name="spareUnreadEvents"/>, only those that every named subscription has passed
    /// (whose <c>(tx, position)</c> is at or below every checkpoint in <see cref="EventTable.SubscriptionsTable"/>;
    /// all of them when there is none). Rows without <c>expires_at</c> are kept.
    /// </summary>
    /// <remarks>
    /// The delete runs in a transaction that first takes the table's cleaning lock (a transaction-scoped advisory
    /// lock, the one <see cref="TtlCleaner"/> runs take), waiting for a cleaner of another instance to finish:
    /// only one instance deletes at a time. The time is the scheduler's, never the server's <c>now()</c>.
    /// </remarks>
    /// <param name="spareUnreadEvents">Whether to keep the expired rows a named subscription has not passed
    /// (<see cref="PostgresPersistenceOptions.TtlSparesUnreadEvents"/>).</param>
    /// <param name="cancellationToken">Cancels the wait for the lock and the statement.</param>
    /// <returns>The number of events deleted.</returns>
    public async Task<int> DeleteExpiredAsync(bool spareUnreadEvents, CancellationToken cancellationToken = default) =>
        (await DeleteExpiredBeforeAsync(Scheduler.Now, spareUnreadEvents, waitForLock: true, cancellationToken).ConfigureAwait(false))?.Deleted ?? 0;

    /// <summary>
    /// Streams the events <paramref name="filter"/> selects, in occurred order, for replay or export. Rows are
    /// read from one query as the enumeration asks for them, so memory stays flat however many match; the
    /// connection is held until the enumeration ends or is disposed. Stopping early (a <c>break</c>, a
    /// cancellation) cancels the query on the server rather than reading the rest of its rows.
    /// </summary>
    /// <param name="filter">Which events; <see cref="EventFilter.All"/> for every one.</param>
    /// <param name="cancellationToken">Cancels the query; a token given to <c>WithCancellation</c> does too.</param>
    /// <exception cref="ArgumentNullException"><paramref name="filter"/> is null.</exception>
    /// <exception cref="ArgumentException"><see cref="EventFilter.Topics"/> is empty or holds a null or empty topic.</exception>
    public IAsyncEnumerable<Event> ReadAsync(EventFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        string[]? topics = null;
        if (filter.Topics is not null)
        {
            topics = [.. filter.Topics];
            if (topics.Length == 0 || topics.Any(string.IsNullOrEmpty))
            {
                throw new ArgumentException(
                    "EventFilter.Topics must hold at least one non-empty topic; leave it null to read every topic.", nameof(filter));
            }
        }

        var conditions = new List<string>(4);
        if (filter.Since is not null)
        {
            conditions.Add("occurred_at >= @since");
        }

        if (filter.Until is not null)
        {
            conditions.Add("occurred_at < @until");
        }

        if (topics is not null)
        {
            conditions.Add("topic = ANY(@topics)");
        }

        if (filter.TransactionId is not null)
        {
            conditions.Add("transaction_id = @transactionId");
        }

        if (filter.Limit is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(filter), filter.Limit, "EventFilter.Limit must be at least 1; leave it null to read every event.");
        }

        var where = conditions.Count == 0 ? "" : " WHERE " + string.Join(" AND ", conditions);
        var limit = filter.Limit is null ? "" : " LIMIT @limit";
        var parameters = new
        {
            since = filter.Since?.ToUniversalTime(),
            until = filter.Until?.ToUniversalTime(),
            topics,
            transactionId = filter.TransactionId,
            limit = filter.Limit,
        };
        return StreamAsync($"SELECT {SelectColumns} FROM {Table.QualifiedName}{where}{Order}{limit}", parameters, cancellationToken);
    }

    // The key of the cleaning lock, turned into the advisory lock's bigint on the server (hashtextextended), so
    // that every instance, whatever its language, derives the same key from the same table.
    internal static string TtlLockKey(EventTable table) => "RxEventBus.Postgres ttl " + table.QualifiedName;

    // The cleaner passes the time of its tick, read on the scheduler, rather than reading the clock again
    // from whichever thread the run continues on. Returns null, having deleted nothing, when `waitForLock` is
    // false and another instance holds the cleaning lock: it is deleting the same rows at that moment, and two
    // deletes at once would only queue on each other's row locks.
    internal async Task<ExpiredCleanup?> DeleteExpiredBeforeAsync(DateTimeOffset now, bool spareUnreadEvents, bool waitForLock, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            if (Table.IsPartitioned)
            {
                return await DropExpiredPartitionsAsync(connection, now, spareUnreadEvents, waitForLock, cancellationToken).ConfigureAwait(false);
            }

            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var locked = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                    waitForLock
                        ? "SELECT true FROM pg_advisory_xact_lock(hashtextextended(@key, 0))"
                        : "SELECT pg_try_advisory_xact_lock(hashtextextended(@key, 0))",
                    new { key = TtlLockKey(Table) },
                    transaction,
                    cancellationToken: cancellationToken)).ConfigureAwait(false);
                if (!locked)
                {
                    return null;
                }

                // A row comparison with ALL is true when the subquery has no rows: no subscription, nothing spared.
                // A row still without a position (an old row not yet numbered) compares as NULL with a checkpoint in
                // its own transaction, and is kept.
                var spare = spareUnreadEvents ? $" AND (tx, position) <= ALL (SELECT tx, position FROM {Table.SubscriptionsQualifiedName})" : "";
                var deleted = await connection.ExecuteAsync(new CommandDefinition(
                    $"DELETE FROM {Table.QualifiedName} WHERE expires_at < @now{spare}",
                    new { now = now.ToUniversalTime() },
                    transaction,
                    cancellationToken: cancellationToken)).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new ExpiredCleanup(deleted, []);
            }
        }
    }

    // A partitioned table is cleaned in several transactions (one per partition dropped, then the default partition's
    // delete), so the cleaning lock is held by the session rather than a transaction, and released at the end: a
    // pooled connection keeps a session lock until it is reused. A connection that breaks ends its session, and the
    // lock with it.
    private async Task<ExpiredCleanup?> DropExpiredPartitionsAsync(
        NpgsqlConnection connection, DateTimeOffset now, bool spareUnreadEvents, bool waitForLock, CancellationToken cancellationToken)
    {
        var key = new { key = TtlLockKey(Table) };
        var locked = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            waitForLock ? "SELECT true FROM pg_advisory_lock(hashtextextended(@key, 0))" : "SELECT pg_try_advisory_lock(hashtextextended(@key, 0))",
            key,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (!locked)
        {
            return null;
        }

        try
        {
            var (deleted, dropped) = await Partitions.DropExpiredAsync(connection, Table, now, spareUnreadEvents, cancellationToken).ConfigureAwait(false);
            return new ExpiredCleanup(deleted, dropped);
        }
        finally
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "SELECT pg_advisory_unlock(hashtextextended(@key, 0))", key, cancellationToken: CancellationToken.None)).ConfigureAwait(false);
        }
    }

    // Makes the partitions a partitioned table needs from `now` to now + `ahead` (Partitions.CreateAheadAsync).
    internal async Task<IReadOnlyList<string>> CreatePartitionsAheadAsync(DateTimeOffset now, TimeSpan ahead, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await Partitions.CreateAheadAsync(connection, Table, now, ahead, cancellationToken).ConfigureAwait(false);
        }
    }

    private async IAsyncEnumerable<Event> StreamAsync(
        string sql, object parameters, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // Unbuffered: Dapper maps each row as the data reader reaches it, and Npgsql reads rows off the
            // socket as they are asked for; TCP back-pressure holds the server while the caller is busy.
            var rows = connection.QueryUnbufferedAsync<StoredEvent>(sql, parameters)
                .WithCancellation(cancellationToken)
                .ConfigureAwait(false);
            await foreach (var row in rows)
            {
                // Rows already in Npgsql's buffer come back without looking at the token, so it is checked
                // here: a cancelled export stops at the next event, not at the next network read.
                cancellationToken.ThrowIfCancellationRequested();
                yield return ToEvent(row);
            }
        }
    }

    private async Task<IReadOnlyList<Event>> PageAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var rows = await connection.QueryAsync<StoredEvent>(Command(sql, parameters, cancellationToken)).ConfigureAwait(false);
            return rows.Select(ToEvent).ToList();
        }
    }

    private static CommandDefinition Command(string sql, object parameters, CancellationToken cancellationToken) =>
        new(sql, parameters, cancellationToken: cancellationToken);

    private static string SinceClause(DateTimeOffset? since) => since is null ? "" : " WHERE occurred_at >= @since";

    private static long Offset(int page, int perPage)
    {
        if (page < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(page), page, "page counts from 1.");
        }

        if (perPage is < 1 or > MaxPerPage)
        {
            throw new ArgumentOutOfRangeException(nameof(perPage), perPage, $"perPage must be between 1 and {MaxPerPage}.");
        }

        return (long)(page - 1) * perPage;
    }

    private Event ToEvent(StoredEvent row) => new()
    {
        Id = row.Id,
        Topic = row.Topic,
        Data = Deserialize(row),
        TransactionId = row.TransactionId,
        InitializedAt = Utc(row.InitializedAt),
        OccurredAt = Utc(row.OccurredAt),
        Source = row.Source,
        Ttl = row.Ttl,
    };

    // Dapper reads the data column through DbDataReader.GetValue: jsonb and json as a string, bytea as a byte[]
    // (StoredPayload takes either), so the store reads a table of any payload type, whatever its options say.
    private object Deserialize(StoredEvent row) => StoredPayload.Deserialize(_serializer, row.Id, row.Topic, row.Data, "");

    // Npgsql reads timestamptz as a UTC DateTime.
    private static DateTimeOffset? Utc(DateTime? value) =>
        value is { } time ? new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc), TimeSpan.Zero) : null;

    // One row as Dapper reads it; mapped by the aliases in SelectColumns.
    private sealed class StoredEvent
    {
        public Guid Id { get; set; }

        public Guid? TransactionId { get; set; }

        public string Topic { get; set; } = "";

        // A string (jsonb, json) or a byte[] (bytea): the column's actual type decides.
        public object Data { get; set; } = "";

        public DateTime? InitializedAt { get; set; }

        public DateTime? OccurredAt { get; set; }

        public string? Source { get; set; }

        public TimeSpan? Ttl { get; set; }
    }
}
