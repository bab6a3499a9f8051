using Microsoft.Reactive.Testing;
using RxEventBus.Postgres.Tests.Support;
using static RxEventBus.Postgres.Tests.Support.TestEvents;

namespace RxEventBus.Postgres.Tests;

[Collection(SharedPostgres.Name)]
public sealed class EventStoreReadTests(PostgresFixture fixture) : IAsyncLifetime
{
    private EventTable _table = null!;
    private EventStore _store = null!;

    public async Task InitializeAsync()
    {
        _table = await CreateTableAsync(fixture, "read");
        _store = new EventStore(fixture.DataSource, _table, new JsonEventSerializer(), new TestScheduler());
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task ReadAsync_NoCriteria_StreamsEveryEventInOccurredOrder()
    {
        var timed = Enumerable.Range(0, 50).Select(i => Create(i % 2 == 0 ? "a" : "b", T0.AddMilliseconds(i * 7), n: i)).ToArray();
        var timeless = Create("a", occurredAt: null);
        await InsertAsync(fixture.DataSource, _table, [timeless, .. timed.Reverse()]);

        var read = await _store.ReadAsync(EventFilter.All).ToListAsync();

        read.Select(e => e.Id).Should().Equal([.. timed.Select(e => e.Id), timeless.Id], "events with no time come last");
    }

    [Fact]
    public async Task ReadAsync_Limit_StreamsOnlyTheFirstMatchesInOrder()
    {
        var events = Enumerable.Range(0, 10).Select(i => Create(i % 2 == 0 ? "a" : "b", T0.AddSeconds(i), n: i)).ToArray();
        await InsertAsync(fixture.DataSource, _table, [.. events.Reverse()]);

        // Read to the end: the stream itself stops after Limit events.
        var read = await _store.ReadAsync(new EventFilter { Topics = ["a"], Limit = 3 }).ToListAsync();
        var all = await _store.ReadAsync(new EventFilter { Limit = 100 }).ToListAsync();

        read.Select(e => e.Id).Should().Equal(events[0].Id, events[2].Id, events[4].Id);
        all.Should().HaveCount(10);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void ReadAsync_LimitBelowOne_Throws(int limit)
    {
        var read = () => _store.ReadAsync(new EventFilter { Limit = limit });

        read.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Limit must be at least 1*");
    }

    [Fact]
    public async Task ReadAsync_SinceAndUntil_StreamsTheHalfOpenWindow()
    {
        var events = Enumerable.Range(0, 10).Select(i => Create("a", T0.AddMinutes(i), n: i)).ToArray();
        await InsertAsync(fixture.DataSource, _table, [.. events, Create("a", occurredAt: null)]);

        var window = await _store.ReadAsync(new EventFilter { Since = T0.AddMinutes(2), Until = T0.AddMinutes(5) }).ToListAsync();
        var since = await _store.ReadAsync(new EventFilter { Since = T0.AddMinutes(8) }).ToListAsync();
        var until = await _store.ReadAsync(new EventFilter { Until = T0.AddMinutes(2) }).ToListAsync();

        window.Select(e => e.Id).Should().Equal(events[2].Id, events[3].Id, events[4].Id);
        since.Select(e => e.Id).Should().Equal(events[8].Id, events[9].Id);
        until.Select(e => e.Id).Should().Equal(events[0].Id, events[1].Id);
    }

    [Fact]
    public async Task ReadAsync_Topics_StreamsOnlyThoseTopics()
    {
        string[] topics = ["users", "orders", "refunds", "orders", "users"];
        var events = topics.Select((topic, i) => Create(topic, T0.AddSeconds(i))).ToArray();
        await InsertAsync(fixture.DataSource, _table, events);

        var read = await _store.ReadAsync(new EventFilter { Topics = ["orders", "refunds", "nothing"] }).ToListAsync();

        read.Select(e => e.Id).Should().Equal(events[1].Id, events[2].Id, events[3].Id);
    }

    [Fact]
    public async Task ReadAsync_TopicThatLooksLikeAPattern_MatchesOnlyThatExactName()
    {
        var events = new[] { Create("orders", T0), Create("ord%", T0.AddSeconds(1)) };
        await InsertAsync(fixture.DataSource, _table, events);

        var read = await _store.ReadAsync(new EventFilter { Topics = ["ord%"] }).ToListAsync();

        read.Select(e => e.Id).Should().Equal(events[1].Id);
    }

    [Fact]
    public async Task ReadAsync_AllCriteria_Combine()
    {
        var transaction = Guid.NewGuid();
        var match = Create("orders", T0.AddMinutes(1), transactionId: transaction);
        await InsertAsync(
            fixture.DataSource, _table,
            match,
            Create("orders", T0.AddMinutes(-1), transactionId: transaction),
            Create("orders", T0.AddMinutes(10), transactionId: transaction),
            Create("users", T0.AddMinutes(1), transactionId: transaction),
            Create("orders", T0.AddMinutes(1), transactionId: Guid.NewGuid()),
            Create("orders", T0.AddMinutes(1)));

        var read = await _store.ReadAsync(new EventFilter
        {
            Since = T0,
            Until = T0.AddMinutes(5),
            Topics = ["orders"],
            TransactionId = transaction,
        }).ToListAsync();

        read.Select(e => e.Id).Should().Equal(match.Id);
    }

    [Fact]
    public void ReadAsync_EmptyTopics_ThrowsWithoutEnumerating()
    {
        var read = () => _store.ReadAsync(new EventFilter { Topics = [] });

        read.Should().Throw<ArgumentException>("an empty list is more likely a bug than a wish to read nothing")
            .WithMessage("*leave it null*");
    }

    [Fact]
    public async Task ReadAsync_FirstEventRead_TheQueryIsStillSendingTheRest()
    {
        // About 40 MB of rows: far more than socket buffers hold, so if the server's query is still active
        // after the first event, the events are streamed, not loaded whole before the first is returned.
        var padding = new string('x', 2000);
        var serializer = new JsonEventSerializer();
        var events = Enumerable.Range(0, 20_000)
            .Select(i => new Event { Id = Guid.NewGuid(), Topic = "bulk", Data = new { i, padding }, OccurredAt = T0.AddMilliseconds(i) });
        await TestRows.InsertAsync(fixture.DataSource, _table, serializer, events);

        await using var enumerator = _store.ReadAsync(EventFilter.All).GetAsyncEnumerator();
        (await enumerator.MoveNextAsync()).Should().BeTrue();
        var first = enumerator.Current;
        var state = await ReadQueryStateAsync();

        first.OccurredAt.Should().Be(T0);
        state.Should().Be("active", "the server is still sending rows the reader has not asked for yet");
    }

    [Fact]
    public async Task ReadAsync_Cancelled_StopsTheStream()
    {
        await InsertAsync(fixture.DataSource, _table, [.. Enumerable.Range(0, 10).Select(i => Create("a", T0.AddSeconds(i)))]);
        using var cancellation = new CancellationTokenSource();
        var read = new List<Event>();

        var readAll = async () =>
        {
            await foreach (var e in _store.ReadAsync(EventFilter.All, cancellation.Token))
            {
                read.Add(e);
                if (read.Count == 3)
                {
                    await cancellation.CancelAsync();
                }
            }
        };

        await readAll.Should().ThrowAsync<OperationCanceledException>();
        read.Should().HaveCount(3);
    }

    // The state of the backend running ReadAsync's query, found by its text: the schema is this test's own.
    private async Task<string?> ReadQueryStateAsync()
    {
        await using var command = fixture.DataSource.CreateCommand(
            "SELECT state FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()");
        command.Parameters.AddWithValue($"%FROM {_table.QualifiedName}%ORDER BY occurred_at%");
        return (string?)await command.ExecuteScalarAsync();
    }
}
