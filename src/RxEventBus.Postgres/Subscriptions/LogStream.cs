using System.Threading.Channels;
using Npgsql;

namespace RxEventBus.Postgres.Subscriptions;

// One catch-up statement read in the background: up to `pageSize × pages` rows after a position, behind the fence
// (PostgresLogSession's page query), handed over as pages of `pageSize` rows as soon as each is read. So the server
// streams the rows while the subscription handles the pages before them — it never waits for the next query, as it
// did for every page when each page was a statement of its own — and a fast reader has only a few pages alive.
// The statement is read at the server's pace whatever the reader does (the buffer is bounded by the statement, not
// by the reader): a slow reader holds at most `pages` pages in memory, never an open statement, whose snapshot
// would hold back vacuum and whose lock on the table would hold back DDL (and every query queued behind it).
//
// Pages are what ReadPageAsync returned before: every page but the last is full and ends at its last row; the
// statement's last page is not full and ends at the fence (LogPage), unless the statement read all its rows (then
// its last page is full, and the next statement starts after it). `Next` is where the page to take next starts.
// A failure ends the stream: the page that would have come throws it. `StopAsync` ends the statement early.
internal sealed class LogStream
{
    private readonly Channel<LogPage> _pages = Channel.CreateUnbounded<LogPage>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    private readonly CancellationTokenSource _stop;
    private readonly Task _reading;

    private LogStream(
        NpgsqlCommand command, LogPosition after, int pageSize, long limit, TopicFilter topics,
        Func<NpgsqlDataReader, string, StoredRow> read, Func<StoredRow, Event> materialize, CancellationToken cancellationToken)
    {
        Next = after;
        PageSize = pageSize;
        Topics = topics;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _reading = ReadAsync(command, after, pageSize, limit, topics, read, materialize, _stop.Token);
    }

    internal LogPosition Next { get; private set; }

    internal int PageSize { get; }

    internal TopicFilter Topics { get; }

    // `command` has the page query's three parameters (after.tx, after.position, limit); it stays in use by the
    // stream until the stream has ended.
    internal static LogStream Start(
        NpgsqlCommand command, LogPosition after, int pageSize, int pages, TopicFilter topics,
        Func<NpgsqlDataReader, string, StoredRow> read, Func<StoredRow, Event> materialize, CancellationToken cancellationToken) =>
        new(command, after, pageSize, (long)pageSize * pages, topics, read, materialize, cancellationToken);

    // The next page, or null once the statement's pages have all been taken.
    internal async Task<LogPage?> TakeAsync(CancellationToken cancellationToken)
    {
        while (await _pages.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_pages.Reader.TryRead(out var page))
            {
                Next = page.End;
                return page;
            }
        }

        return null;
    }

    // Ends the statement (if it still runs) and waits until the connection is free again. Whatever stopped it
    // (this, a failure, the subscription's token) is not this call's concern: a page not taken is read again.
    internal async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _reading.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The outcome was for the pages not taken; nobody takes them now.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        _stop.Dispose();
    }

    private async Task ReadAsync(
        NpgsqlCommand command, LogPosition after, int pageSize, long limit, TopicFilter topics,
        Func<NpgsqlDataReader, string, StoredRow> read, Func<StoredRow, Event> materialize, CancellationToken token)
    {
        // Run the statement off the caller's thread: Start returns at once and the caller takes pages meanwhile.
        await Task.Yield();
        try
        {
            command.Parameters[0].Value = after.Transaction;
            command.Parameters[1].Value = after.Sequence;
            command.Parameters[2].Value = limit;
            var events = new List<LoggedEvent>();
            var rows = 0;
            long total = 0;
            var last = after;
            ulong fence = 0;
            var held = false;
            var reader = await command.ExecuteReaderAsync(token).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(token).ConfigureAwait(false))
                {
                    fence = reader.GetFieldValue<ulong>(0);
                    held = reader.GetBoolean(11);
                    if (reader.IsDBNull(1))
                    {
                        break;
                    }

                    rows++;
                    total++;
                    last = new LogPosition(reader.GetFieldValue<ulong>(1), reader.GetInt64(2));
                    var topic = reader.GetString(5);
                    if (topics.Matches(topic))
                    {
                        events.Add(new LoggedEvent(last, read(reader, topic), materialize));
                    }

                    if (rows == pageSize)
                    {
                        await _pages.Writer.WriteAsync(new LogPage(events, rows, last, Full: true, held), token).ConfigureAwait(false);
                        events = [];
                        rows = 0;
                    }
                }
            }

            // The statement has ended, so the connection is free before its last page is handed over: a caught-up
            // subscription may use it at once. A statement that read all it asked for ends on a full page; one
            // that read less has reached the fence: its last page (empty if the rows filled whole pages) ends there.
            if (total < limit)
            {
                var end = LogPosition.Max(last, LogPage.BelowFence(fence));
                await _pages.Writer.WriteAsync(new LogPage(events, rows, end, Full: false, held), token).ConfigureAwait(false);
            }

            _pages.Writer.Complete();
        }
        catch (Exception e)
        {
            _pages.Writer.Complete(e);
        }
    }
}
