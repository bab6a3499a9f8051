using Microsoft.Reactive.Testing;
using RxEventBus.Postgres.Tests.Support;
using static RxEventBus.Postgres.Tests.Support.TestEvents;

namespace RxEventBus.Postgres.Tests;

[Collection(SharedPostgres.Name)]
public sealed class EventStoreQueryTests(PostgresFixture fixture) : IAsyncLifetime
{
    private EventTable _table = null!;
    private EventStore _store = null!;

    public async Task InitializeAsync()
    {
        _table = await CreateTableAsync(fixture, "query");
        _store = new EventStore(fixture.DataSource, _table, new JsonEventSerializer(), new TestScheduler());
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task FindAsync_StoredId_ReturnsTheEvent()
    {
        var stored = Create("orders", T0, transactionId: Guid.NewGuid());
        await InsertAsync(fixture.DataSource, _table, stored, Create("orders", T0));

        var found = await _store.FindAsync(stored.Id);

        found.Should().NotBeNull();
        found!.Id.Should().Be(stored.Id);
        found.TransactionId.Should().Be(stored.TransactionId);
        found.OccurredAt.Should().Be(T0);
    }

    [Fact]
    public async Task FindAsync_UnknownId_ReturnsNull()
    {
        await InsertAsync(fixture.DataSource, _table, Create("orders", T0));

        (await _store.FindAsync(Guid.NewGuid())).Should().BeNull();
    }

    [Fact]
    public async Task AllAsync_ThreePages_ReturnsEachPageInOccurredOrder()
    {
        // Inserted shuffled, so the order can only come from the query.
        var events = Enumerable.Range(0, 7).Select(i => Create("orders", T0.AddSeconds(i), n: i)).ToArray();
        await InsertAsync(fixture.DataSource, _table, [.. events.Reverse()]);

        var page1 = await _store.AllAsync(1, 3, since: null);
        var page2 = await _store.AllAsync(2, 3, since: null);
        var page3 = await _store.AllAsync(3, 3, since: null);
        var page4 = await _store.AllAsync(4, 3, since: null);

        page1.Select(e => e.Id).Should().Equal(events[0].Id, events[1].Id, events[2].Id);
        page2.Select(e => e.Id).Should().Equal(events[3].Id, events[4].Id, events[5].Id);
        page3.Select(e => e.Id).Should().Equal(events[6].Id);
        page4.Should().BeEmpty();
    }

    [Fact]
    public async Task AllAsync_Since_ReturnsEventsAtOrAfterIt()
    {
        var before = Create("orders", T0.AddMilliseconds(-1));
        var at = Create("orders", T0);
        var after = Create("orders", T0.AddMinutes(1));
        var noTime = Create("orders", null);
        await InsertAsync(fixture.DataSource, _table, before, at, after, noTime);

        var since = await _store.AllAsync(1, 100, T0);
        var all = await _store.AllAsync(1, 100, since: null);

        since.Select(e => e.Id).Should().Equal([at.Id, after.Id], "since is inclusive, as in the seed");
        all.Select(e => e.Id).Should().Equal([before.Id, at.Id, after.Id, noTime.Id], "events with no time come last");
    }

    [Fact]
    public async Task AllAsync_SinceWithNonUtcOffset_ComparesInstants()
    {
        var at = Create("orders", T0);
        await InsertAsync(fixture.DataSource, _table, Create("orders", T0.AddSeconds(-1)), at);

        var since = await _store.AllAsync(1, 10, T0.ToOffset(TimeSpan.FromHours(2)));

        since.Select(e => e.Id).Should().Equal(at.Id);
    }

    [Fact]
    public async Task AllAsync_SameOccurredAt_OrdersById()
    {
        var events = Enumerable.Range(0, 5).Select(_ => Create("orders", T0)).ToArray();
        await InsertAsync(fixture.DataSource, _table, events);

        var all = await _store.AllAsync(1, 10, since: null);

        all.Select(e => e.Id).Should().Equal(events.Select(e => e.Id).Order(), "a page boundary must be stable when times tie");
    }

    [Theory]
    [InlineData(0, 10, "page")]
    [InlineData(-1, 10, "page")]
    [InlineData(1, 0, "perPage")]
    [InlineData(1, EventStore.MaxPerPage + 1, "perPage")]
    public async Task AllAsync_PageOrPerPageOutOfRange_Throws(int page, int perPage, string parameter)
    {
        var all = () => _store.AllAsync(page, perPage, since: null);

        (await all.Should().ThrowAsync<ArgumentOutOfRangeException>()).Which.ParamName.Should().Be(parameter);
    }

    [Fact]
    public async Task AllAsync_LastPossiblePage_DoesNotOverflowTheOffset()
    {
        await InsertAsync(fixture.DataSource, _table, Create("orders", T0));

        (await _store.AllAsync(int.MaxValue, EventStore.MaxPerPage, since: null)).Should().BeEmpty();
    }

    [Fact]
    public async Task CountAsync_WithAndWithoutSince_CountsTheMatchingEvents()
    {
        await InsertAsync(
            fixture.DataSource, _table,
            Create("orders", T0.AddHours(-1)), Create("orders", T0), Create("users", T0.AddHours(1)), Create("users", null));

        (await _store.CountAsync(since: null)).Should().Be(4);
        (await _store.CountAsync(T0)).Should().Be(2);
        (await _store.CountAsync(T0.AddHours(2))).Should().Be(0);
    }

    [Fact]
    public async Task CountPerTopicAsync_SeveralTopics_CountsEachOrderedByTopic()
    {
        await InsertAsync(
            fixture.DataSource, _table,
            Create("users", T0), Create("orders", T0), Create("orders", T0.AddHours(1)),
            Create("orders", T0.AddHours(-1)), Create("Zeta", T0));

        var all = await _store.CountPerTopicAsync(since: null);
        var since = await _store.CountPerTopicAsync(T0);

        all.Should().Equal(new TopicCount("Zeta", 1), new TopicCount("orders", 3), new TopicCount("users", 1));
        since.Should().Equal(new TopicCount("Zeta", 1), new TopicCount("orders", 2), new TopicCount("users", 1));
    }

    [Fact]
    public async Task CountPerTopicAsync_EmptyTable_ReturnsEmpty()
    {
        (await _store.CountPerTopicAsync(since: null)).Should().BeEmpty();
    }

    [Fact]
    public async Task CountPerTopicOverTimeAsync_SeveralIntervals_CountsEachTopicPerIntervalAlignedToTheEpoch()
    {
        // T0 is a whole hour, so 5-minute intervals start at T0, T0+5 min, …; the events sit on both edges of one.
        await InsertAsync(
            fixture.DataSource, _table,
            Create("orders", T0), Create("orders", T0.AddMinutes(5).AddTicks(-10)), Create("users", T0.AddMinutes(1)),
            Create("orders", T0.AddMinutes(5)), Create("Zeta", T0.AddMinutes(7)),
            Create("orders", T0.AddMinutes(20)), Create("users", T0.AddMinutes(-3)), Create("users", null));

        var counts = await _store.CountPerTopicOverTimeAsync(TimeSpan.FromMinutes(5), since: null, until: null);

        counts.Should().Equal(
            new TopicIntervalCount(T0.AddMinutes(-5), "users", 1),
            new TopicIntervalCount(T0, "orders", 2),
            new TopicIntervalCount(T0, "users", 1),
            new TopicIntervalCount(T0.AddMinutes(5), "Zeta", 1),
            new TopicIntervalCount(T0.AddMinutes(5), "orders", 1),
            new TopicIntervalCount(T0.AddMinutes(20), "orders", 1));
    }

    [Fact]
    public async Task CountPerTopicOverTimeAsync_SinceAndUntil_CountOnlyEventsInTheHalfOpenRange()
    {
        await InsertAsync(
            fixture.DataSource, _table,
            Create("orders", T0.AddSeconds(59)), Create("orders", T0.AddMinutes(1)), Create("orders", T0.AddSeconds(90)),
            Create("orders", T0.AddMinutes(2).AddTicks(-10)), Create("orders", T0.AddMinutes(2)));

        // since falls inside the first interval: that interval counts only what is at or after since.
        var counts = await _store.CountPerTopicOverTimeAsync(TimeSpan.FromMinutes(1), since: T0.AddSeconds(70), until: T0.AddMinutes(2));

        counts.Should().Equal(new TopicIntervalCount(T0.AddMinutes(1), "orders", 2));
    }

    [Fact]
    public async Task CountPerTopicOverTimeAsync_IntervalNotWholeSeconds_Throws()
    {
        foreach (var interval in new[] { TimeSpan.Zero, TimeSpan.FromSeconds(-1), TimeSpan.FromMilliseconds(1500) })
        {
            var count = () => _store.CountPerTopicOverTimeAsync(interval, since: null, until: null);

            await count.Should().ThrowAsync<ArgumentOutOfRangeException>().WithMessage("*whole number of seconds*");
        }
    }

    [Fact]
    public async Task CountPerTopicOverTimeAsync_UntilBeforeSince_Throws()
    {
        var count = () => _store.CountPerTopicOverTimeAsync(TimeSpan.FromMinutes(1), since: T0, until: T0.AddTicks(-10));

        await count.Should().ThrowAsync<ArgumentOutOfRangeException>().WithMessage("*until*since*");
    }

    [Fact]
    public async Task FindAllByTransactionIdAsync_MixedTransactions_PagesOnlyThatTransactionSince()
    {
        var transaction = Guid.NewGuid();
        var mine = Enumerable.Range(0, 5).Select(i => Create("orders", T0.AddSeconds(i), transactionId: transaction)).ToArray();
        var other = Create("orders", T0.AddSeconds(2), transactionId: Guid.NewGuid());
        var none = Create("orders", T0.AddSeconds(3));
        await InsertAsync(fixture.DataSource, _table, [other, none, .. mine.Reverse()]);

        var page1 = await _store.FindAllByTransactionIdAsync(transaction, 1, 2, since: null);
        var page3 = await _store.FindAllByTransactionIdAsync(transaction, 3, 2, since: null);
        var since = await _store.FindAllByTransactionIdAsync(transaction, 1, 10, T0.AddSeconds(3));

        page1.Select(e => e.Id).Should().Equal(mine[0].Id, mine[1].Id);
        page3.Select(e => e.Id).Should().Equal(mine[4].Id);
        since.Select(e => e.Id).Should().Equal(mine[3].Id, mine[4].Id);
    }

    [Fact]
    public async Task CountByTransactionIdAsync_MixedTransactions_CountsOnlyThatTransactionSince()
    {
        var transaction = Guid.NewGuid();
        var mine = Enumerable.Range(0, 5).Select(i => Create("orders", T0.AddSeconds(i), transactionId: transaction)).ToArray();
        await InsertAsync(
            fixture.DataSource, _table,
            [Create("orders", T0, transactionId: Guid.NewGuid()), Create("orders", T0), Create("users", null, transactionId: transaction), .. mine]);

        (await _store.CountByTransactionIdAsync(transaction)).Should().Be(6, "every event of the transaction, with a time or not");
        (await _store.CountByTransactionIdAsync(transaction, since: T0.AddSeconds(3))).Should().Be(2, "since is inclusive and leaves out events with no time");
        (await _store.CountByTransactionIdAsync(Guid.NewGuid())).Should().Be(0);
    }

    [Fact]
    public async Task Queries_SinceLeftOut_SeeEveryEvent()
    {
        var transaction = Guid.NewGuid();
        await InsertAsync(
            fixture.DataSource, _table,
            Create("orders", T0.AddHours(-1), transactionId: transaction), Create("orders", null, transactionId: transaction));

        (await _store.AllAsync(1, 10)).Should().HaveCount(2);
        (await _store.CountAsync()).Should().Be(2);
        (await _store.CountPerTopicAsync()).Should().Equal(new TopicCount("orders", 2));
        (await _store.FindAllByTransactionIdAsync(transaction, 1, 10)).Should().HaveCount(2);
    }

    [Fact]
    public async Task FindAllByTransactionIdAsync_PerPageOutOfRange_Throws()
    {
        var find = () => _store.FindAllByTransactionIdAsync(Guid.NewGuid(), 1, 0, since: null);

        await find.Should().ThrowAsync<ArgumentOutOfRangeException>().WithMessage("*perPage must be between 1 and 10000*");
    }

    [Fact]
    public async Task DeleteAsync_StoredId_DeletesOnlyThatEventAndReturnsTrue()
    {
        var doomed = Create("orders", T0);
        var kept = Create("orders", T0);
        await InsertAsync(fixture.DataSource, _table, doomed, kept);

        var deleted = await _store.DeleteAsync(doomed.Id);
        var again = await _store.DeleteAsync(doomed.Id);

        deleted.Should().BeTrue();
        again.Should().BeFalse("the event is already gone");
        (await TestRows.IdsAsync(fixture.DataSource, _table)).Should().BeEquivalentTo([kept.Id]);
    }

    [Fact]
    public async Task Queries_Cancelled_Throw()
    {
        var cancelled = new CancellationToken(canceled: true);

        await FluentActions.Awaiting(() => _store.FindAsync(Guid.NewGuid(), cancelled)).Should().ThrowAsync<OperationCanceledException>();
        await FluentActions.Awaiting(() => _store.CountAsync(null, cancelled)).Should().ThrowAsync<OperationCanceledException>();
        await FluentActions.Awaiting(() => _store.DeleteExpiredAsync(cancelled)).Should().ThrowAsync<OperationCanceledException>();
    }
}
