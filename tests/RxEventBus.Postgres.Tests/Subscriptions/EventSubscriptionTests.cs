using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Text.Json;
using Npgsql;
using RxEventBus.Postgres.Tests.Support;
using static RxEventBus.Postgres.Tests.Support.TestEvents;

namespace RxEventBus.Postgres.Tests.Subscriptions;

// Subscriptions against the real server: the fence holds a late-committing transaction's rows back and then
// delivers them (never skips them), checkpoints resume a name, one instance per name reads, notifications wake
// a caught-up reader. Real time is only a safety limit here; nothing waits for a duration to order steps.
[Collection(SharedPostgres.Name)]
public sealed class EventSubscriptionTests(PostgresFixture fixture) : IAsyncLifetime
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly List<IAsyncDisposable> _disposables = [];
    private EventTable _table = null!;

    public async Task InitializeAsync() => _table = await TestEvents.CreateTableAsync(fixture, "sub");

    public Task DisposeAsync() => Cleanup.DisposeAllAsync(_disposables);

    [Fact]
    public async Task ReadAsync_FromBeginning_DeliversEveryStoredRowInTransactionThenPositionOrder()
    {
        var first = Batch("a", 3);
        var second = Batch("b", 2);
        await InsertAsync(fixture.DataSource, _table, first);
        await InsertAsync(fixture.DataSource, _table, second);

        var subscription = Subscribe(new EventSubscriptionOptions { PageSize = 2 });
        var (events, positions) = await TakeAsync(subscription, 5);

        events.Select(e => e.Id).Should().Equal([.. first.Select(e => e.Id), .. second.Select(e => e.Id)]);
        positions.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        positions.Select(p => p.Transaction).Distinct().Should().HaveCount(2, "each COPY was one transaction, and its rows share its id");
        ((System.Text.Json.JsonElement)events[0].Data).GetProperty("N").GetInt32().Should().Be(0, "the payload is read back through the serializer");
    }

    [Fact]
    public async Task ReadAsync_TransactionCommitsAfterALaterOne_DeliversItsRowsOnceItEndsAndNeverSkipsThem()
    {
        var before = Create("orders", T0);
        await InsertAsync(fixture.DataSource, _table, before);
        var subscription = Subscribe(new EventSubscriptionOptions { MinPollInterval = TimeSpan.FromMilliseconds(10), MaxPollInterval = TimeSpan.FromMilliseconds(20) });
        var reader = new Reader(subscription);
        await reader.WaitForAsync(1);

        // The late transaction takes its xid first, writes, and stays open; a later one writes and commits.
        await using var lateConnection = await fixture.DataSource.OpenConnectionAsync();
        await using var late = await lateConnection.BeginTransactionAsync();
        await InsertInAsync(lateConnection, late, "late");
        var early = await InsertCommittedAsync("early");

        // Let the subscription read twice while the late transaction is still open.
        var reads = subscription.PageReads;
        await Wait.UntilAsync(() => subscription.PageReads >= reads + 2, "the subscription polled with 'early' committed");
        reader.Topics.Should().Equal(["orders"], "the committed 'early' row sits behind the open transaction's fence: it is not read past yet");

        await late.CommitAsync();
        await reader.WaitForAsync(3);

        reader.Topics.Should().Equal(["orders", "late", "early"],
            "the late row comes first in (tx, position) order, and nothing is passed: a high-water mark would have skipped it");
        reader.Ids[2].Should().Be(early);
    }

    [Fact]
    public async Task ReadAsync_TwoOpenTransactionsInsertingInTurns_DeliversEachOnesRowsInTheOrderItInsertedThem()
    {
        // The position sequence hands each session a range of values at a time (CACHE): two transactions writing in
        // turns take values from ranges that interleave, and each crosses from its first range into a later one.
        // The (tx, position) order must still give each transaction's rows in the order it inserted them.
        const int Chunk = 700;
        await using var firstConnection = await fixture.DataSource.OpenConnectionAsync();
        await using var secondConnection = await fixture.DataSource.OpenConnectionAsync();
        await using var first = await firstConnection.BeginTransactionAsync();
        await using var second = await secondConnection.BeginTransactionAsync();
        for (var round = 0; round < 2; round++)
        {
            await InsertNumberedAsync(firstConnection, first, "first", round * Chunk, Chunk);
            await InsertNumberedAsync(secondConnection, second, "second", round * Chunk, Chunk);
        }

        await second.CommitAsync();
        await first.CommitAsync();

        var subscription = Subscribe(new EventSubscriptionOptions());
        var (events, positions) = await TakeAsync(subscription, 4 * Chunk);

        events.Select(e => e.Topic).Should().Equal(
            [.. Enumerable.Repeat("first", 2 * Chunk), .. Enumerable.Repeat("second", 2 * Chunk)],
            "the first transaction took its xid first, and all its rows come before the second's");
        foreach (var topic in new[] { "first", "second" })
        {
            events.Where(e => e.Topic == topic).Select(e => JsonDocument.Parse(e.Data.ToString()!).RootElement.GetProperty("N").GetInt32())
                .Should().Equal(Enumerable.Range(0, 2 * Chunk), $"the {topic} transaction's rows come out in the order it inserted them");
        }

        positions.Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task ReadAsync_RowsHeldBackByAnOpenTransaction_LogsAWarningNamingItsBackend()
    {
        var logger = new ListLogger<EventSubscription>();
        var subscription = new EventSubscription(fixture.DataSource, _table, new JsonEventSerializer(),
            new EventSubscriptionOptions { MinPollInterval = TimeSpan.FromMilliseconds(10), MaxPollInterval = TimeSpan.FromMilliseconds(20), HeldBackWarning = TimeSpan.FromMilliseconds(50) },
            logger: logger);
        _disposables.Add(subscription);
        var reader = new Reader(subscription);
        await Wait.UntilAsync(() => subscription.State == SubscriptionState.Live, "caught up");

        await using var holderConnection = await fixture.DataSource.OpenConnectionAsync();
        await using var holder = await holderConnection.BeginTransactionAsync();
        await using (var xid = new NpgsqlCommand("SELECT pg_current_xact_id()", holderConnection, holder))
        {
            await xid.ExecuteScalarAsync();
        }

        await InsertCommittedAsync("waiting");
        await Wait.UntilAsync(() => logger.Entries.Any(e => e.EventId.Id == 38), "the held-back warning");

        logger.Entries.Single(e => e.EventId.Id == 38).Message.Should().Contain($"pid {holderConnection.ProcessID} ", "it names the backend to look at");
        reader.Count.Should().Be(0);
        await holder.CommitAsync();
        await reader.WaitForAsync(1);
    }

    [Fact]
    public async Task ReadAsync_NamedSubscriptionRestarted_ResumesAfterItsCheckpoint()
    {
        var events = Batch("orders", 10);
        await InsertAsync(fixture.DataSource, _table, events);
        var options = new EventSubscriptionOptions { Name = "billing", CheckpointEvery = 3 };

        var first = Subscribe(options);
        var (firstRun, _) = await TakeAsync(first, 4);
        var stored = first.Checkpoint;

        var second = Subscribe(options);
        var (secondRun, _) = await TakeAsync(second, 10 - 3);

        firstRun.Select(e => e.Id).Should().Equal(events.Take(4).Select(e => e.Id));
        stored.Should().NotBeNull("3 handled events made a checkpoint due");
        secondRun.Select(e => e.Id).Should().Equal(events.Skip(3).Select(e => e.Id),
            "the 4th event was yielded but not acknowledged, so it is delivered again; the first 3 are not");
    }

    [Fact]
    public async Task ReadAsync_CheckpointsFallDueWhileTheNextPageIsBeingRead_StoresThemInTurnAndMissesNothing()
    {
        // Pages of 10 in statements of 160: each statement starts (and checks the name's connection) while the
        // pages before it are handled, and a checkpoint falls due every 7 events, so stores keep meeting reads.
        var events = Batch("orders", 1_000);
        await InsertAsync(fixture.DataSource, _table, events);
        var options = new EventSubscriptionOptions { Name = "ahead", PageSize = 10, CheckpointEvery = 7, CheckpointInterval = TimeSpan.FromHours(1) };

        var first = Subscribe(options);
        var states = new List<SubscriptionState>();
        using var watching = first.StateChanges.Subscribe(states.Add);
        var firstRun = new List<Event>();
        var positions = new List<LogPosition>();
        LogPosition? storedMidway = null;
        using (var limit = new CancellationTokenSource(Limit))
        {
            await foreach (var e in first.ReadAsync(limit.Token))
            {
                firstRun.Add(e);
                positions.Add(first.Position!.Value);
                if (firstRun.Count == 501)
                {
                    storedMidway = first.Checkpoint;
                }

                if (firstRun.Count == 1_000)
                {
                    break;
                }
            }
        }

        await first.DisposeAsync();
        var second = Subscribe(options);
        var (secondRun, _) = await TakeAsync(second, 1);

        firstRun.Select(e => e.Id).Should().Equal(events.Select(e => e.Id), "every row once, in order, across 100 pages read ahead");
        storedMidway.Should().Be(positions[496], "with 500 events handled, the last store due was after the 497th (71 × 7)");
        states.Should().NotContain(SubscriptionState.Reconnecting, "a store never ran into the page being read: it waited for it");
        secondRun.Select(e => e.Id).Should().Equal([events[999].Id],
            "stopping stored the 999 handled events; the 1000th was yielded, not handled, so it comes again");
    }

    [Fact]
    public async Task Session_CheckpointStoredWhileAStatementIsRead_GoesThroughOnTheNamesConnectionAndTheStreamGoesOn()
    {
        await InsertAsync(fixture.DataSource, _table, Batch("orders", 20_000));
        var source = new RxEventBus.Postgres.Subscriptions.PostgresLogSource(fixture.DataSource, _table, new JsonEventSerializer(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        using var limit = new CancellationTokenSource(Limit);
        await using var session = await source.OpenAsync(limit.Token);
        (await session.TryLeadAsync("streaming", limit.Token)).Should().BeTrue();
        var topics = new TopicFilter([".*"]);

        // One statement of 16 pages of 1,000 rows: the first page is handed over as soon as it is read, while the
        // statement goes on reading the other 15 on the reading connection; the store comes at once.
        var first = await session.ReadPageAsync(LogPosition.Beginning, 1_000, topics, limit.Token);
        await session.StoreCheckpointAsync("streaming", first.End, limit.Token).WaitAsync(Limit);
        var second = await session.ReadPageAsync(first.End, 1_000, topics, limit.Token);

        (await StoredCheckpointAsync("streaming")).Should().Be(first.End, "the store went through on the name's connection while the statement was open");
        first.Full.Should().BeTrue();
        second.Events.Should().HaveCount(1_000);
        second.Events[0].Position.Should().BeGreaterThan(first.End, "the statement went on where the first page ended");
    }

    [Fact]
    public async Task ReadAsync_NameConnectionEnds_StopsBeforeDeliveringMoreWhileAnotherInstanceTakesOver()
    {
        var events = Batch("orders", 2);
        await InsertAsync(fixture.DataSource, _table, events);
        var options = new EventSubscriptionOptions
        {
            Name = "audit", LeaderRetryInterval = TimeSpan.FromMilliseconds(50), CheckpointInterval = TimeSpan.FromHours(1),
        };
        var first = Subscribe(options);
        var firstReader = new Reader(first);
        await firstReader.WaitForAsync(2);
        await Wait.UntilAsync(() => first.State == SubscriptionState.Live, "the first instance is live");

        // Its name's connection ends (the server ends the session, as when a network partition is noticed): the
        // name is free, and a second instance takes it.
        await using (var connection = await fixture.DataSource.OpenConnectionAsync())
        await using (var terminate = new NpgsqlCommand(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            connection))
        {
            (await terminate.ExecuteScalarAsync()).Should().Be(true);
        }

        var second = Subscribe(options);
        var secondReader = new Reader(second);
        await Wait.UntilAsync(() => second.State == SubscriptionState.Live, "the second instance took the name");
        var more = Batch("orders", 3);
        await InsertAsync(fixture.DataSource, _table, more);
        await secondReader.WaitForAsync(5);
        await Wait.UntilAsync(() => first.State == SubscriptionState.Standby, "the first instance found its name gone at its next read, and stands by");

        firstReader.Count.Should().Be(2, "it checked its name's connection before delivering the new rows, so only the holder delivered them");
        secondReader.Ids.Should().Equal([.. events.Select(e => e.Id), .. more.Select(e => e.Id)]);
    }

    [Fact]
    public async Task ReadAsync_AcknowledgedThenStopped_StoresTheLastEventAndTheNextRunStartsAfterIt()
    {
        var events = Batch("orders", 6);
        await InsertAsync(fixture.DataSource, _table, events);
        var options = new EventSubscriptionOptions { Name = "export" };

        var first = Subscribe(options);
        await foreach (var e in first.ReadAsync())
        {
            if (e.Id == events[2].Id)
            {
                first.Acknowledge();
                break;
            }
        }

        var (rest, _) = await TakeAsync(Subscribe(options), 3);
        rest.Select(e => e.Id).Should().Equal(events.Skip(3).Select(e => e.Id));
    }

    [Fact]
    public async Task ReadAsync_SecondInstanceWithTheSameName_StandsByThenTakesOverFromTheCheckpoint()
    {
        var events = Batch("orders", 4);
        await InsertAsync(fixture.DataSource, _table, events);
        var options = new EventSubscriptionOptions { Name = "shipping", LeaderRetryInterval = TimeSpan.FromMilliseconds(50), CheckpointEvery = 1 };

        var leader = Subscribe(options);
        var leaderReader = new Reader(leader);
        await leaderReader.WaitForAsync(4);
        await Wait.UntilAsync(() => leader.Checkpoint is not null && leader.State == SubscriptionState.Live, "the leader stored its checkpoint and went live");

        var standby = Subscribe(options);
        var standbyReader = new Reader(standby);
        await Wait.UntilAsync(() => standby.State == SubscriptionState.Standby, "the second instance sees the name held");
        var more = Batch("orders", 2);
        await InsertAsync(fixture.DataSource, _table, more);
        await leaderReader.WaitForAsync(6);
        standbyReader.Count.Should().Be(0, "only the instance holding the name delivers");

        await leaderReader.StopAsync();
        var last = Batch("orders", 1);
        await InsertAsync(fixture.DataSource, _table, last);
        await standbyReader.WaitForAsync(1);

        standbyReader.Ids.Should().Equal(last.Select(e => e.Id), "it takes over after what the leader acknowledged, and nothing is missed");
    }

    [Fact]
    public async Task ReadAsync_FromEnd_DeliversOnlyRowsCommittedAfterItStarted()
    {
        await InsertAsync(fixture.DataSource, _table, Batch("old", 3));
        var subscription = Subscribe(new EventSubscriptionOptions { From = SubscriptionStart.End, MinPollInterval = TimeSpan.FromMilliseconds(10) });
        var reader = new Reader(subscription);
        await Wait.UntilAsync(() => subscription.State == SubscriptionState.Live, "caught up at the end");

        var fresh = Batch("new", 2);
        await InsertAsync(fixture.DataSource, _table, fresh);
        await reader.WaitForAsync(2);

        reader.Ids.Should().Equal(fresh.Select(e => e.Id));
    }

    [Fact]
    public async Task ReadAsync_AfterAPosition_DeliversOnlyTheRowsAfterIt()
    {
        var events = Batch("orders", 5);
        await InsertAsync(fixture.DataSource, _table, events);
        var (_, positions) = await TakeAsync(Subscribe(new EventSubscriptionOptions()), 5);

        var (rest, _) = await TakeAsync(Subscribe(new EventSubscriptionOptions { From = SubscriptionStart.After(positions[1]) }), 3);

        rest.Select(e => e.Id).Should().Equal(events.Skip(2).Select(e => e.Id));
    }

    [Fact]
    public async Task ReadAsync_Notification_WakesACaughtUpReaderLongBeforeItsNextPoll()
    {
        var subscription = Subscribe(new EventSubscriptionOptions { MinPollInterval = TimeSpan.FromMinutes(5), MaxPollInterval = TimeSpan.FromMinutes(5) });
        var reader = new Reader(subscription);
        await Wait.UntilAsync(() => subscription.State == SubscriptionState.Live, "caught up");

        // A row without its writer's notification is not seen before the 5-minute poll...
        await InsertCommittedAsync("unannounced");

        // ...the notification (what the consumer sends once per committed batch) wakes the reader at once.
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        await using (var notify = new NpgsqlCommand($"SELECT pg_notify('{_table.Schema}.{_table.Table}', '')", connection))
        {
            await notify.ExecuteNonQueryAsync();
        }

        await reader.WaitForAsync(1);
        reader.Topics.Should().Equal(["unannounced"]);
    }

    [Fact]
    public async Task ReadAsync_TableMissing_FaultsWithTheServersError()
    {
        var subscription = new EventSubscription(fixture.DataSource, new EventTable(_table.Schema, "missing"), new JsonEventSerializer(), new EventSubscriptionOptions());
        _disposables.Add(subscription);

        var read = async () => await subscription.ReadAsync().FirstAsync();

        (await read.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.UndefinedTable);
        subscription.State.Should().Be(SubscriptionState.Faulted);
    }

    [Fact]
    public async Task ReadAsync_PayloadTheSerializerCannotRead_FaultsNamingTheEventInsteadOfPassingIt()
    {
        var events = Batch("orders", 2);
        await InsertAsync(fixture.DataSource, _table, events);
        var subscription = new EventSubscription(fixture.DataSource, _table, new RefusingSerializer(events[1].Id), new EventSubscriptionOptions());
        _disposables.Add(subscription);
        var read = new List<Guid>();

        var reading = async () =>
        {
            await foreach (var e in subscription.ReadAsync())
            {
                read.Add(e.Id);
            }
        };

        (await reading.Should().ThrowAsync<InvalidOperationException>()).WithMessage($"*{events[1].Id}*");
        read.Should().Equal(events[0].Id);
        subscription.State.Should().Be(SubscriptionState.Faulted);
    }

    [Fact]
    public async Task AsObservable_DeliversTheSameEventsInTheSameOrder()
    {
        var events = Batch("orders", 3);
        await InsertAsync(fixture.DataSource, _table, events);

        var received = await Subscribe(new EventSubscriptionOptions()).AsObservable().Take(3).ToList().ToTask().WaitAsync(Limit);

        received.Select(e => e.Id).Should().Equal(events.Select(e => e.Id));
    }

    private async Task<LogPosition?> StoredCheckpointAsync(string name)
    {
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand($"SELECT tx, position FROM {_table.SubscriptionsQualifiedName} WHERE name = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? new LogPosition(reader.GetFieldValue<ulong>(0), reader.GetInt64(1)) : null;
    }

    private static Event[] Batch(string topic, int count) =>
        [.. Enumerable.Range(0, count).Select(i => Create(topic, T0.AddSeconds(i), n: i))];

    private EventSubscription Subscribe(EventSubscriptionOptions options)
    {
        var subscription = new EventSubscription(fixture.DataSource, _table, new JsonEventSerializer(), options);
        _disposables.Add(subscription);
        return subscription;
    }

    private static async Task<(List<Event> Events, List<LogPosition> Positions)> TakeAsync(EventSubscription subscription, int count)
    {
        var events = new List<Event>();
        var positions = new List<LogPosition>();
        using var limit = new CancellationTokenSource(Limit);
        await foreach (var e in subscription.ReadAsync(limit.Token))
        {
            events.Add(e);
            positions.Add(subscription.Position!.Value);
            if (events.Count == count)
            {
                break;
            }
        }

        return (events, positions);
    }

    private async Task<Guid> InsertCommittedAsync(string topic)
    {
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var id = await InsertInAsync(connection, transaction, topic);
        await transaction.CommitAsync();
        return id;
    }

    // `count` rows numbered from `from` in one plain INSERT, in that order (N in the payload); tx and position from
    // the column defaults.
    private async Task InsertNumberedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string topic, int from, int count)
    {
        await using var insert = new NpgsqlCommand(
            $"""
            INSERT INTO {_table.QualifiedName} (id, topic, data)
            SELECT gen_random_uuid(), $1, convert_to(jsonb_build_object('N', g)::text, 'UTF8') FROM generate_series($2::int, $3::int) g ORDER BY g
            """,
            connection,
            transaction);
        insert.Parameters.Add(new NpgsqlParameter { Value = topic });
        insert.Parameters.Add(new NpgsqlParameter { Value = from });
        insert.Parameters.Add(new NpgsqlParameter { Value = from + count - 1 });
        await insert.ExecuteNonQueryAsync();
    }

    // A plain INSERT, as another program would write: tx and position come from the column defaults.
    private async Task<Guid> InsertInAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string topic)
    {
        var id = Guid.CreateVersion7();
        await using var insert = new NpgsqlCommand($"INSERT INTO {_table.QualifiedName} (id, topic, data) VALUES ($1, $2, '{{\"N\":1}}')", connection, transaction);
        insert.Parameters.Add(new NpgsqlParameter { Value = id });
        insert.Parameters.Add(new NpgsqlParameter { Value = topic });
        await insert.ExecuteNonQueryAsync();
        return id;
    }

    private sealed class RefusingSerializer(Guid refused) : IEventSerializer
    {
        private readonly JsonEventSerializer _inner = new();
        private int _calls;

        public ValueTask<byte[]> SerializeAsync(Event @event, CancellationToken cancellationToken) => _inner.SerializeAsync(@event, cancellationToken);

        // The second row's payload is refused (the serializer is not told the id, so it counts).
        public object Deserialize(string topic, ReadOnlySpan<byte> json) =>
            ++_calls == 2 ? throw new FormatException($"cannot read the payload meant to fail for {refused}") : _inner.Deserialize(topic, json);
    }

    // Reads a subscription in the background, recording what it delivers.
    private sealed class Reader
    {
        private readonly Lock _gate = new();
        private readonly List<Event> _events = [];
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _task;

        internal Reader(EventSubscription subscription) =>
            _task = Task.Run(async () =>
            {
                await foreach (var e in subscription.ReadAsync(_stop.Token))
                {
                    using (_gate.EnterScope())
                    {
                        _events.Add(e);
                    }
                }
            });

        internal int Count { get { using (_gate.EnterScope()) { return _events.Count; } } }

        internal List<Guid> Ids { get { using (_gate.EnterScope()) { return [.. _events.Select(e => e.Id)]; } } }

        internal List<string> Topics { get { using (_gate.EnterScope()) { return [.. _events.Select(e => e.Topic)]; } } }

        internal Task WaitForAsync(int count) => Wait.UntilAsync(() => Count >= count || _task.IsCompleted, $"{count} events delivered");

        internal async Task StopAsync()
        {
            await _stop.CancelAsync();
            await _task.ContinueWith(static _ => { }, TaskScheduler.Default).WaitAsync(Limit);
        }
    }
}
