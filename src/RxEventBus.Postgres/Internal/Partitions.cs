using System.Globalization;
using System.Text.RegularExpressions;
using Dapper;
using Npgsql;

namespace RxEventBus.Postgres.Internal;

// The partitions of an events table partitioned by range of expires_at (EventTableDesign.PartitionInterval): made
// ahead of the rows that need them, and dropped whole once every row in them has expired.
//
// Each range is one interval long, aligned on the Unix epoch in UTC, so every instance computes the same ranges and
// names ("<table>_p" + the start, yyyyMMddHHmm). Every change is a transaction of its own that first takes the
// table's schema lock (the advisory lock SchemaManager.EnsureSchemaAsync takes), so instances that make partitions at
// the same moment queue and each finds what the one before it made; and sets a lock_timeout, so a change that cannot
// have its table lock at once (a long read holds the table) gives up instead of making every writer wait behind it.
// The run that gave up fails, is logged, and the next one tries again.
internal static partial class Partitions
{
    // The most partitions made ahead of the current one: an event with a 100-year ttl and daily partitions waits in
    // the default partition rather than making 36,500 tables.
    internal const int MaxAhead = 1000;

    // How long a change waits for its lock on the table before giving up (until the next run).
    internal const string LockTimeout = "2s";

    private const string BoundsSql = """
        SELECT c.relname::text, pg_get_expr(c.relpartbound, c.oid)
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = to_regclass(@name)
        """;

    // The start of the range that holds `time`.
    internal static DateTime RangeStart(DateTimeOffset time, TimeSpan interval)
    {
        var ticks = time.UtcTicks - DateTime.UnixEpoch.Ticks;
        var start = ticks - (((ticks % interval.Ticks) + interval.Ticks) % interval.Ticks);
        return new DateTime(DateTime.UnixEpoch.Ticks + start, DateTimeKind.Utc);
    }

    // The ranges that should exist at `now`: from the one holding `now` to the one holding `until`, at most MaxAhead
    // past the first.
    internal static IReadOnlyList<DateTime> RangesFor(DateTimeOffset now, DateTimeOffset until, TimeSpan interval)
    {
        var first = RangeStart(now, interval);
        var last = RangeStart(until < now ? now : until, interval);
        var ranges = new List<DateTime>();
        for (var start = first; start <= last && ranges.Count <= MaxAhead; start += interval)
        {
            ranges.Add(start);
        }

        return ranges;
    }

    // Makes the partitions from the one holding `now` to the one holding now + `ahead`, and those the rows waiting
    // in the default partition belong to (up to MaxAhead); returns the names of those it made. Rows of the default
    // partition in a new range move into it in the transaction that makes it (keeping tx and position, so the
    // subscriptions' order does not change): PostgreSQL refuses to attach a range that the default partition holds
    // rows of.
    internal static async Task<IReadOnlyList<string>> CreateAheadAsync(
        NpgsqlConnection connection, EventTable table, DateTimeOffset now, TimeSpan ahead, CancellationToken cancellationToken)
    {
        var interval = table.Design.PartitionInterval ?? throw new InvalidOperationException($"{table.QualifiedName} is not partitioned.");

        // The latest expiry waiting in the default partition: its rows get their partitions too.
        var waiting = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(
            $"SELECT max(expires_at) FROM {table.DefaultPartitionQualifiedName}", cancellationToken: cancellationToken)).ConfigureAwait(false);
        var until = now + ahead;
        if (waiting is { } latest && new DateTimeOffset(DateTime.SpecifyKind(latest, DateTimeKind.Utc)) > until)
        {
            until = new DateTimeOffset(DateTime.SpecifyKind(latest, DateTimeKind.Utc));
        }

        var made = new List<string>();
        var existing = await NamesAsync(connection, table, cancellationToken).ConfigureAwait(false);
        foreach (var start in RangesFor(now, until, interval))
        {
            var name = table.PartitionName(start);
            if (existing.Contains(name)
                || !await CreateAsync(connection, table, start, start + interval, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }

            made.Add(name);
        }

        return made;
    }

    // One partition, in its own transaction under the schema lock; false when another instance made it meanwhile.
    private static async Task<bool> CreateAsync(NpgsqlConnection connection, EventTable table, DateTime from, DateTime to, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            await LockAsync(connection, transaction, table, cancellationToken).ConfigureAwait(false);
            if ((await NamesAsync(connection, table, cancellationToken, transaction).ConfigureAwait(false)).Contains(table.PartitionName(from)))
            {
                return false;
            }

            var partition = table.QualifiedPartitionName(from);
            var range = $"'{Timestamp(from)}'::timestamptz AND expires_at < '{Timestamp(to)}'::timestamptz";

            // Made apart and attached, rather than CREATE TABLE … PARTITION OF: that would lock the whole table
            // against every reader and writer while it runs; ATTACH PARTITION lets both go on (it locks the default
            // partition only, while it checks that none of its rows belong here). The CHECK constraint spares
            // ATTACH a scan of the new partition.
            await ExecuteAsync(
                connection,
                transaction,
                $"""
                CREATE TABLE {partition} (LIKE {table.QualifiedName} INCLUDING DEFAULTS);
                ALTER TABLE {partition} ADD CONSTRAINT range_check CHECK (expires_at IS NOT NULL AND expires_at >= {range});
                WITH moved AS (DELETE FROM {table.DefaultPartitionQualifiedName} WHERE expires_at >= {range} RETURNING *)
                INSERT INTO {partition} SELECT * FROM moved;
                ALTER TABLE {table.QualifiedName} ATTACH PARTITION {partition}
                    FOR VALUES FROM ('{Timestamp(from)}') TO ('{Timestamp(to)}');
                ALTER TABLE {partition} DROP CONSTRAINT range_check;
                """,
                cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
    }

    // Drops the partitions whose whole range lies before `now` (so every row in them has expired), except, with
    // `spareUnread`, one holding a row that a named subscription has not yet passed; then deletes the expired rows
    // of the default partition, one by one, as a plain table's cleanup does. Returns the rows deleted and the
    // partitions dropped. The caller holds the cleaning lock.
    internal static async Task<(int Deleted, IReadOnlyList<string> Dropped)> DropExpiredAsync(
        NpgsqlConnection connection, EventTable table, DateTimeOffset now, bool spareUnread, CancellationToken cancellationToken)
    {
        var dropped = new List<string>();
        var passed = (await RangesAsync(connection, table, cancellationToken).ConfigureAwait(false)).Where(r => r.To <= now.UtcDateTime).ToList();
        if (passed.Count > 0)
        {
            // All in one transaction and one DROP: dropping a partition locks the whole table (ACCESS EXCLUSIVE on
            // it) for the moment the drop takes — a catalog change and the unlinking of files, not a read of the
            // rows — and each lock first waits for the statements running on the table (a writer's batch) to end.
            // DETACH … CONCURRENTLY, which would not lock it, is refused while the table has a default partition;
            // lock_timeout bounds the wait.
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                await LockAsync(connection, transaction, table, cancellationToken).ConfigureAwait(false);

                // The slowest subscription's checkpoint, read once; none (or not sparing): every passed partition goes.
                var slowest = spareUnread
                    ? await connection.QuerySingleOrDefaultAsync<(string Tx, long Position)?>(new CommandDefinition(
                        $"SELECT tx::text, position FROM {table.SubscriptionsQualifiedName} ORDER BY tx, position LIMIT 1",
                        transaction: transaction,
                        cancellationToken: cancellationToken)).ConfigureAwait(false)
                    : null;
                foreach (var (name, _) in passed)
                {
                    // One probe of the partition's (tx, position) index: is any row above the slowest checkpoint?
                    var partition = $"{table.QuotedSchema}.\"{name}\"";
                    if (slowest is not { } checkpoint || !await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                            $"SELECT EXISTS (SELECT FROM {partition} WHERE (tx, position) > (@tx::xid8, @position))",
                            new { tx = checkpoint.Tx, position = checkpoint.Position },
                            transaction,
                            cancellationToken: cancellationToken)).ConfigureAwait(false))
                    {
                        dropped.Add(name);
                    }
                }

                if (dropped.Count > 0)
                {
                    await ExecuteAsync(
                        connection, transaction, $"DROP TABLE {string.Join(", ", dropped.Select(n => $"{table.QuotedSchema}.\"{n}\""))}", cancellationToken)
                        .ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        var spare = spareUnread ? $" AND (tx, position) <= ALL (SELECT tx, position FROM {table.SubscriptionsQualifiedName})" : "";
        var deleted = await connection.ExecuteAsync(new CommandDefinition(
            $"DELETE FROM {table.DefaultPartitionQualifiedName} WHERE expires_at < @now{spare}",
            new { now = now.ToUniversalTime() },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return (deleted, dropped);
    }

    // The partitions attached to the table with the end of their range, read from the catalog (not from their names:
    // the interval may have changed since a partition was made), in UTC.
    internal static async Task<List<(string Name, DateTime To)>> RangesAsync(NpgsqlConnection connection, EventTable table, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            await ExecuteAsync(connection, transaction, "SET LOCAL TimeZone = 'UTC'", cancellationToken).ConfigureAwait(false);
            var bounds = await connection.QueryAsync<(string Name, string Bound)>(new CommandDefinition(
                BoundsSql, new { name = table.QualifiedName }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            var ranges = new List<(string, DateTime)>();
            foreach (var (name, bound) in bounds)
            {
                // FOR VALUES FROM ('2026-12-01 00:00:00+00') TO ('2026-12-02 00:00:00+00'); DEFAULT has no end.
                if (RangeEnd().Match(bound) is { Success: true } match)
                {
                    ranges.Add((name, DateTime.SpecifyKind(
                        DateTime.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal),
                        DateTimeKind.Utc)));
                }
            }

            return ranges;
        }
    }

    private static async Task<HashSet<string>> NamesAsync(
        NpgsqlConnection connection, EventTable table, CancellationToken cancellationToken, NpgsqlTransaction? transaction = null) =>
        [.. (await connection.QueryAsync<(string Name, string Bound)>(new CommandDefinition(
            BoundsSql, new { name = table.QualifiedName }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).Select(static b => b.Name)];

    private static async Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, EventTable table, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition(
            $"SELECT pg_advisory_xact_lock(hashtextextended(@key, 0)); SET LOCAL lock_timeout = '{LockTimeout}'",
            new { key = SchemaManager.LockKey(table) },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    private static Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(sql, transaction: transaction, cancellationToken: cancellationToken));

    private static string Timestamp(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss'+00'", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"TO \('([^']+)'\)", RegexOptions.CultureInvariant)]
    private static partial Regex RangeEnd();
}
