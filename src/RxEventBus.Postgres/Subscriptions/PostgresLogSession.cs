using Npgsql;
using NpgsqlTypes;
using RxEventBus.Postgres.Internal;

namespace RxEventBus.Postgres.Subscriptions;

// One subscription's connection: it holds the name's advisory lock, reads pages and stores checkpoints, so
// that losing the connection loses the lock and the ability to store at the same moment — an instance that
// lost its connection can no longer move the checkpoint another instance now owns.
//
// The subscription reads the next page while it yields the current one (so the server and the network work while
// the reader handles events), so a call may come while a page is still being read: the session runs its calls
// one at a time, in the order they came (`_use`), and a checkpoint stored mid-page waits for that read.
internal sealed class PostgresLogSession : ILogSession
{
    private readonly NpgsqlConnection _connection;
    private readonly EventTable _table;
    private readonly IEventSerializer _serializer;
    private readonly string _subscriptions;
    private readonly string _pageSql;
    private readonly Func<StoredRow, Event> _materialize;
    private readonly SemaphoreSlim _use = new(1, 1);
    private readonly List<LoggedEvent>[] _pages = [[], []];
    private NpgsqlCommand? _pageCommand;
    private int _nextPage;
    private bool _leading;

    internal PostgresLogSession(NpgsqlConnection connection, EventTable table, IEventSerializer serializer)
    {
        _connection = connection;
        _table = table;
        _serializer = serializer;
        _subscriptions = table.SubscriptionsQualifiedName;
        _materialize = ToEvent;

        // The fence and the page in ONE statement, so both see the same snapshot: every transaction below the
        // snapshot's xmin has ended, so its rows are visible to this very statement or were rolled back, and
        // any row that becomes visible later has tx >= xmin and sorts after everything read here (ADR 0004).
        // The LEFT JOIN returns the fence even when no row qualifies. One range scan of (tx, position), and one
        // index probe for `held`: committed rows (this snapshot sees no others) beyond the fence.
        _pageSql = $"""
            SELECT f.fence, e.tx, e.position, e.id, e.transaction_id, e.topic, e.data::text, e.initialized_at,
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
        using var turn = await TurnAsync(cancellationToken).ConfigureAwait(false);
        var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", _connection);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = LeaderKey(_table, name) });
            _leading = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true;
            return _leading;
        }
    }

    public async Task<LogPosition?> LoadCheckpointAsync(string name, CancellationToken cancellationToken)
    {
        using var turn = await TurnAsync(cancellationToken).ConfigureAwait(false);
        var command = new NpgsqlCommand($"SELECT tx, position FROM {_subscriptions} WHERE name = $1", _connection);
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
        using var turn = await TurnAsync(cancellationToken).ConfigureAwait(false);
        var command = new NpgsqlCommand(
            $"""
            INSERT INTO {_subscriptions} (name, tx, position, updated_at) VALUES ($1, $2, $3, now())
            ON CONFLICT (name) DO UPDATE SET tx = excluded.tx, position = excluded.position, updated_at = excluded.updated_at
            """,
            _connection);
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
        using var turn = await TurnAsync(cancellationToken).ConfigureAwait(false);
        var command = new NpgsqlCommand("SELECT pg_snapshot_xmin(pg_current_snapshot())", _connection);
        await using (command.ConfigureAwait(false))
        {
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                return BelowFence(reader.GetFieldValue<ulong>(0));
            }
        }
    }

    public async Task<LogPage> ReadPageAsync(LogPosition after, int limit, TopicFilter topics, CancellationToken cancellationToken)
    {
        using var turn = await TurnAsync(cancellationToken).ConfigureAwait(false);

        // One prepared statement per session: a catch-up runs it once per page, and planning the LATERAL join anew
        // each time would cost the server more than the page's rows (docs/benchmarks.md, issue 12).
        var command = _pageCommand;
        if (command is null)
        {
            command = new NpgsqlCommand(_pageSql, _connection);
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Xid8 });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint });
            await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
            _pageCommand = command;
        }

        command.Parameters[0].Value = after.Transaction;
        command.Parameters[1].Value = after.Sequence;
        command.Parameters[2].Value = (long)limit;

        // Two lists per session, used in turn: the subscription yields one page's events while the next page is
        // read into the other, and a new list per page would be a large-object-heap array each time (10,000 × 40 B).
        var events = _pages[_nextPage];
        _nextPage ^= 1;
        events.Clear();
        var rows = 0;
        var last = after;
        ulong fence = 0;
        var held = false;
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                fence = reader.GetFieldValue<ulong>(0);
                held = reader.GetBoolean(11);
                if (reader.IsDBNull(1))
                {
                    break;
                }

                rows++;
                last = new LogPosition(reader.GetFieldValue<ulong>(1), reader.GetInt64(2));
                var topic = reader.GetString(5);
                if (topics.Matches(topic))
                {
                    events.Add(new LoggedEvent(last, ReadRow(reader, topic), _materialize));
                }
            }
        }

        var full = rows == limit;
        return new LogPage(events, rows, full ? last : LogPosition.Max(last, BelowFence(fence)), full, held);
    }

    // Seeing other roles' sessions needs pg_read_all_stats (or superuser); without it their pid still shows.
    public async Task<string> DescribeFenceHolderAsync(CancellationToken cancellationToken)
    {
        using var turn = await TurnAsync(cancellationToken).ConfigureAwait(false);
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

    // The connection goes back to the data source's pool, where it stays open: Npgsql resets a pooled
    // connection (DISCARD ALL, which releases advisory locks) only when it is next handed out, so without this
    // the name would stay held by an idle connection and a standby instance would never take over. A broken
    // connection fails here at once; its server session, and the lock with it, is gone already.
    public async ValueTask DisposeAsync()
    {
        // After a page still being read (the subscription stopped while it read ahead): the connection is in use
        // until then. The read ends by itself within a page, or at once when the subscription's token was cancelled.
        await _use.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_leading && _connection.State == System.Data.ConnectionState.Open)
            {
                var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", _connection);
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

            await _connection.DisposeAsync().ConfigureAwait(false);
            _use.Release();
        }
    }

    // The connection for one call; disposing the result hands it to the next.
    private async Task<Turn> TurnAsync(CancellationToken cancellationToken)
    {
        await _use.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Turn(_use);
    }

    private readonly struct Turn(SemaphoreSlim use) : IDisposable
    {
        public void Dispose() => use.Release();
    }

    // One advisory lock per (table, subscription name); hashtextextended makes the bigint key on the server, so
    // any client derives the same key from the same name.
    internal static string LeaderKey(EventTable table, string name) => "RxEventBus.Postgres subscription " + table.QualifiedName + " " + name;

    // Every transaction below the fence has ended: nothing can appear at or before (fence − 1, max) any more.
    private static LogPosition BelowFence(ulong fence) => new(fence - 1, long.MaxValue);

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
