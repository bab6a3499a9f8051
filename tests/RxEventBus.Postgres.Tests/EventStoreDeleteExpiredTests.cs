using Microsoft.Reactive.Testing;
using RxEventBus.Postgres.Tests.Support;
using static RxEventBus.Postgres.Tests.Support.TestEvents;

namespace RxEventBus.Postgres.Tests;

[Collection(SharedPostgres.Name)]
public sealed class EventStoreDeleteExpiredTests(PostgresFixture fixture) : IAsyncLifetime
{
    private readonly TestScheduler _scheduler = new();
    private EventTable _table = null!;
    private EventStore _store = null!;

    public async Task InitializeAsync()
    {
        _table = await CreateTableAsync(fixture, "expired");
        _store = new EventStore(fixture.DataSource, _table, new JsonEventSerializer(), _scheduler);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task DeleteExpiredAsync_MixedRows_DeletesExpiredKeepsLiveAndTimeless()
    {
        // TestRows uses the default ttl of 15 minutes for events without one.
        var expiredByDefaultTtl = Create("orders", T0.AddMinutes(-16));
        var expiredByOwnTtl = Create("orders", T0.AddMinutes(-2), ttl: TimeSpan.FromMinutes(1));
        var liveByDefaultTtl = Create("orders", T0.AddMinutes(-14));
        var liveByOwnTtl = Create("orders", T0.AddDays(-1), ttl: TimeSpan.FromDays(2));
        var expiresExactlyNow = Create("orders", T0.AddMinutes(-1), ttl: TimeSpan.FromMinutes(1));
        var noOccurredAt = Create("orders", occurredAt: null, ttl: TimeSpan.FromTicks(10));
        await InsertAsync(
            fixture.DataSource, _table,
            expiredByDefaultTtl, expiredByOwnTtl, liveByDefaultTtl, liveByOwnTtl, expiresExactlyNow, noOccurredAt);
        _scheduler.AdvanceTo(T0.UtcTicks);

        var deleted = await _store.DeleteExpiredAsync();

        deleted.Should().Be(2);
        (await TestRows.IdsAsync(fixture.DataSource, _table)).Should().BeEquivalentTo(
            [liveByDefaultTtl.Id, liveByOwnTtl.Id, expiresExactlyNow.Id, noOccurredAt.Id],
            "only rows whose expires_at is before now go; NULL expires_at never expires");
    }

    [Fact]
    public async Task DeleteExpiredAsync_RowsOfAllAges_DeletesTheOldestAndKeepsTheNewest()
    {
        // The seed's query (occurred_at + ttl >= now) deleted the newest rows instead.
        var ages = Enumerable.Range(0, 30).Select(minutes => Create("orders", T0.AddMinutes(-minutes), n: minutes)).ToArray();
        await InsertAsync(fixture.DataSource, _table, ages);
        _scheduler.AdvanceTo(T0.UtcTicks);

        var deleted = await _store.DeleteExpiredAsync();

        var kept = await _store.AllAsync(1, 100, since: null);
        deleted.Should().Be(14, "events more than 15 minutes (the ttl) old have expired");
        kept.Select(e => e.Id).Should().Equal(
            ages.Take(16).Reverse().Select(e => e.Id),
            "the events up to 15 minutes old, the newest, are still live");
    }

    [Fact]
    public async Task DeleteExpiredAsync_SchedulerClockIsNotTheServerClock_UsesTheSchedulerClock()
    {
        // Long before the server's now(): by the server's clock every row has expired; by the scheduler's only one.
        var past = new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var expired = Create("orders", past.AddHours(-1));
        var live = Create("orders", past.AddMinutes(-5));
        await InsertAsync(fixture.DataSource, _table, expired, live);
        _scheduler.AdvanceTo(past.UtcTicks);

        var deleted = await _store.DeleteExpiredAsync();

        deleted.Should().Be(1);
        (await TestRows.IdsAsync(fixture.DataSource, _table)).Should().BeEquivalentTo([live.Id]);
    }

    [Fact]
    public async Task DeleteExpiredAsync_ClockAdvances_DeletesRowsAsTheyExpire()
    {
        var first = Create("orders", T0, ttl: TimeSpan.FromMinutes(1));
        var second = Create("orders", T0, ttl: TimeSpan.FromMinutes(2));
        await InsertAsync(fixture.DataSource, _table, first, second);
        _scheduler.AdvanceTo(T0.UtcTicks);

        var atStart = await _store.DeleteExpiredAsync();
        _scheduler.AdvanceBy(TimeSpan.FromSeconds(90).Ticks);
        var after90Seconds = await _store.DeleteExpiredAsync();
        _scheduler.AdvanceBy(TimeSpan.FromSeconds(31).Ticks);
        var after121Seconds = await _store.DeleteExpiredAsync();

        (atStart, after90Seconds, after121Seconds).Should().Be((0, 1, 1));
        (await TestRows.CountAsync(fixture.DataSource, _table)).Should().Be(0);
    }
}
