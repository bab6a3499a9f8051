using Npgsql;
using NpgsqlTypes;
using RxEventBus.Postgres.Internal;

namespace RxEventBus.Postgres.Subscriptions;

// One subscription's connections. The reading one runs the page query: while catching up, one statement of up to
// StatementPages pages streams in the background (LogStream) and is handed over a page at a time, so the server
// works while the subscription handles the pages before. A named subscription's name is held by a second one
// (`_names`), which also loads and stores its checkpoints: a store never waits for a statement being read, and
// losing that connection loses the lock and the ability to store at the same moment — an instance that lost it
// can no longer move the checkpoint another instance now owns, and stops delivering at its next store.
internal sealed class PostgresLogSession : ILogSession
{
    // Pages per catch-up statement: the rows one statement reads at the server's pace, and what a reader slower than
    // the table may hold in memory (LogStream).
    internal const int StatementPages = 16;

    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlDataSource _dataSource;
    private readonly EventTable _table;
    private readonly IEventSerializer _serializer;
    private readonly string _subscriptions;
    private readonly string _pageSql;
    private readonly Func<StoredRow, Event> _materialize;
    private readonly Func<NpgsqlDataReader, string, StoredRow> _read = ReadRow;
    private readonly SemaphoreSlim _namesInUse = new(1, 1);
    private NpgsqlConnection? _names;
    private NpgsqlCommand? _pageCommand;
    private LogStream? _stream;
    private bool _leading;

    internal PostgresLogSession(NpgsqlDataSource dataSource, NpgsqlConnection connection, EventTable table, IEventSerializer serializer)
    {
        _dataSource = dataSource;
        _connection = connection;
        _table = table;
        _serializer = serializer;
        _subscriptions = table.SubscriptionsQualifiedName;
        _materialize = ToEvent;

        // The fence and the page in ONE statement, so both see the same snapshot: every transaction below the
        // snapshot's xmin has ended, so its rows are visible to this very statement or were rolled back, and
        // any row that becomes visible later has tx >= xmin and sorts after everything read here (ADR 0004).
        // The LEFT JOIN returns the fence even when no row qualifies. One range scan of (tx, position), and one
        // index probe for `held`: committed rows (this snapshot sees no others) beyond the fence. `data` is read as
        // bytes whatever its type (ReadRow), so the session reads a jsonb, json or bytea table alike.
        _pageSql = $"""
            SELECT f.fence, e.tx, e.position, e.id, e.transaction_id, e.topic, e.data, e.initialized_at,
                   e.occurred_at, e.source, e.ttl, f.held
            FROM (SELECT x.fence, EXISTS (SELECT FROM {table.QualifiedName} WHERE tx >= x.fence) AS held
                  FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS fence) x) f
            LEFT JOIN LATERAL (
                SELECT tx, position, id, transaction_id, topic, data, initialized_at, occurred_at, source, ttl
                FROM {table.QualifiedName}
                WHERE (tx, position) > ($1, $2) AND tx < f.fence
                ORDER BY tx, position
                LIMIT $3) e ON true
            """;
    }

    // Rows stored before the table had a position carry none until SchemaManager.EnsureSchemaAsync has
    // numbered them; a reader that started earlier would pass them by (a comparison with NULL is never true).
    internal async Task CheckPositionedAsync(CancellationToken cancellationToken)
    {
        if (await SchemaManager.HasUnpositionedRowsAsync(_connection, _table, cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidOperationException(
                $"Table {_table.QualifiedName} has rows stored before it had a position (position IS NULL), which a " +
                "subscription cannot order. Run SchemaManager.EnsureSchemaAsync (the persistence consumer does at start " +
                "with EnsureSchema on) to number them, then start the subscription again.");
        }
    }

    public async Task<bool> TryLeadAsync(string name, CancellationToken cancellationToken)
    {
        using var turn = await NamesTurnAsync(cancellationToken).ConfigureAwait(false);
        _names ??= await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", _names);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = LeaderKey(_table, name) });
            _leading = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true;
            return _leading;
        }
    }

    public async Task<LogPosition?> LoadCheckpointAsync(string name, CancellationToken cancellationToken)
    {
        using var turn = await NamesTurnAsync(cancellationToken).ConfigureAwait(false);
        var command = new NpgsqlCommand($"SELECT tx, position FROM {_subscriptions} WHERE name = $1", Names);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = name });
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                    ? new LogPosition(reader.GetFieldValue<ulong>(0), reader.GetInt64(1))
                    : null;
            }
        }
    }

    public async Task StoreCheckpointAsync(string name, LogPosition position, CancellationToken cancellationToken)
    {
        using var turn = await NamesTurnAsync(cancellationToken).ConfigureAwait(false);
        var command = new NpgsqlCommand(
            $"""
            INSERT INTO {_subscriptions} (name, tx, position, updated_at) VALUES ($1, $2, $3, now())
            ON CONFLICT (name) DO UPDATE SET tx = excluded.tx, position = excluded.position, updated_at = excluded.updated_at
            """,
            Names);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = name });
            command.Parameters.Add(new NpgsqlParameter { Value = position.Transaction, NpgsqlDbType = NpgsqlDbType.Xid8 });
            command.Parameters.Add(new NpgsqlParameter { Value = position.Sequence });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<LogPosition> EndAsync(CancellationToken cancellationToken)
    {
        await StopStreamAsync().ConfigureAwait(false);
        var command = new NpgsqlCommand("SELECT pg_snapshot_xmin(pg_current_snapshot())", _connection);
        await using (command.ConfigureAwait(false))
        {
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                return LogPage.BelowFence(reader.GetFieldValue<ulong>(0));
            }
        }
    }

    // The next page of the statement streaming from `after`, or the first of a new one: the loop asks for the page
    // after the one it was given last (or reads again from what it handled, after a reconnect or with other
    // arguments), and a statement whose pages are all taken is followed by the next.
    public async Task<LogPage> ReadPageAsync(LogPosition after, int limit, TopicFilter topics, CancellationToken cancellationToken)
    {
        if (_stream is { } stream && stream.Next == after && stream.PageSize == limit && ReferenceEquals(stream.Topics, topics))
        {
            if (await stream.TakeAsync(cancellationToken).ConfigureAwait(false) is { } page)
            {
                return page;
            }
        }

        await StopStreamAsync().ConfigureAwait(false);
        var started = LogStream.Start(await PageCommandAsync(cancellationToken).ConfigureAwait(false), after, limit, StatementPages, topics, _read, _materialize, cancellationToken);
        _stream = started;

        // A named subscription delivers only while its name's connection lives: checked once per statement, beside
        // it, so that an instance whose name went to another (its connection ended) stops before delivering more
        // instead of at its next checkpoint store.
        if (_leading)
        {
            await ProbeNameAsync(cancellationToken).ConfigureAwait(false);
        }

        return await started.TakeAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("A page statement ended without a page.");
    }

    private async Task ProbeNameAsync(CancellationToken cancellationToken)
    {
        using var turn = await NamesTurnAsync(cancellationToken).ConfigureAwait(false);
        var probe = new NpgsqlCommand("SELECT 1", Names);
        await using (probe.ConfigureAwait(false))
        {
            await probe.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // Seeing other roles' sessions needs pg_read_all_stats (or superuser); without it their pid still shows.
    public async Task<string> DescribeFenceHolderAsync(CancellationToken cancellationToken)
    {
        await StopStreamAsync().ConfigureAwait(false);
        var command = new NpgsqlCommand(
            """
            SELECT description FROM (
                SELECT age(backend_xid) AS age,
                       format('pid %s in database %s, user %s, %s, open since %s, state %s',
                              pid, coalesce(datname, '?'), coalesce(usename, '?'),
                              coalesce(nullif(application_name, ''), 'no application name'), xact_start, coalesce(state, '?')) AS description
                FROM pg_stat_activity WHERE backend_xid IS NOT NULL
                UNION ALL
                SELECT age(transaction), format('prepared transaction %s in database %s, prepared at %s', gid, database, prepared)
                FROM pg_prepared_xacts) holders
            ORDER BY age DESC LIMIT 1
            """,
            _connection);
        await using (command.ConfigureAwait(false))
        {
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string ?? "a transaction that has ended since";
        }
    }

    // The connections go back to the data source's pool, where they stay open: Npgsql resets a pooled
    // connection (DISCARD ALL, which releases advisory locks) only when it is next handed out, so without the
    // unlock the name would stay held by an idle connection and a standby instance would never take over. A broken
    // connection fails here at once; its server session, and the lock with it, is gone already.
    public async ValueTask DisposeAsync()
    {
        // A statement still streaming (the subscription stopped while it read ahead) ends first.
        await StopStreamAsync().ConfigureAwait(false);
        try
        {
            if (_leading && _names is { State: System.Data.ConnectionState.Open } names)
            {
                var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", names);
                await using (unlock.ConfigureAwait(false))
                {
                    await unlock.ExecuteNonQueryAsync().ConfigureAwait(false);
                }
            }
        }
        catch (NpgsqlException)
        {
            // The connection is unusable, so the server has ended (or will end) the session and its lock.
        }
        finally
        {
            if (_pageCommand is not null)
            {
                await _pageCommand.DisposeAsync().ConfigureAwait(false);
            }

            if (_names is not null)
            {
                await _names.DisposeAsync().ConfigureAwait(false);
            }

            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    // The name's connection: TryLeadAsync opened it (only a named subscription loads and stores checkpoints).
    private NpgsqlConnection Names => _names ?? throw new InvalidOperationException("No subscription name is held on this session.");

    // The name's connection for one call: the loop stores checkpoints while a page read ahead probes the name
    // (ReadPageAsync), and one connection takes one command at a time.
    private async Task<NamesTurn> NamesTurnAsync(CancellationToken cancellationToken)
    {
        await _namesInUse.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new NamesTurn(_namesInUse);
    }

    private readonly struct NamesTurn(SemaphoreSlim inUse) : IDisposable
    {
        public void Dispose() => inUse.Release();
    }

    private async Task StopStreamAsync()
    {
        if (_stream is { } stream)
        {
            _stream = null;
            await stream.StopAsync().ConfigureAwait(false);
        }
    }

    // One prepared statement per session: a catch-up runs it once per StatementPages pages and a live reader once per
    // wake-up, and planning the LATERAL join anew each time would cost the server more than a small page's rows.
    private async Task<NpgsqlCommand> PageCommandAsync(CancellationToken cancellationToken)
    {
        if (_pageCommand is null)
        {
            var command = new NpgsqlCommand(_pageSql, _connection);
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Xid8 });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint });
            await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
            _pageCommand = command;
        }

        return _pageCommand;
    }

    // One advisory lock per (table, subscription name); hashtextextended makes the bigint key on the server, so
    // any client derives the same key from the same name.
    internal static string LeaderKey(EventTable table, string name) => "RxEventBus.Postgres subscription " + table.QualifiedName + " " + name;


    // The payload as bytes, as the serializer made them: Npgsql hands jsonb (without its version byte) and json out as
    // their UTF-8 text, and bytea as it is stored.
    private static StoredRow ReadRow(NpgsqlDataReader reader, string topic) => new(
        reader.GetGuid(3),
        reader.IsDBNull(4) ? null : reader.GetGuid(4),
        topic,
        reader.GetFieldValue<byte[]>(6),
        reader.IsDBNull(7) ? null : reader.GetDateTime(7),
        reader.IsDBNull(8) ? null : reader.GetDateTime(8),
        reader.IsDBNull(9) ? null : reader.GetString(9),
        reader.IsDBNull(10) ? null : reader.GetFieldValue<TimeSpan>(10));

    private Event ToEvent(StoredRow row) => new()
    {
        Id = row.Id,
        TransactionId = row.TransactionId,
        Topic = row.Topic,
        Data = StoredPayload.Deserialize(_serializer, row.Id, row.Topic, row.Data, " in " + _table.QualifiedName),
        InitializedAt = Utc(row.InitializedAt),
        OccurredAt = Utc(row.OccurredAt),
        Source = row.Source,
        Ttl = row.Ttl,
    };

    // Npgsql reads timestamptz as a UTC DateTime.
    private static DateTimeOffset? Utc(DateTime? value) =>
        value is { } time ? new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc), TimeSpan.Zero) : null;
}
