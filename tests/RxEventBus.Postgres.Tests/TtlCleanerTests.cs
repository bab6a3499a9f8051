using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Reactive.Testing;
using Npgsql;
using RxEventBus.Postgres.Tests.Support;
using static RxEventBus.Postgres.Tests.Support.TestEvents;

namespace RxEventBus.Postgres.Tests;

[Collection(SharedPostgres.Name)]
public sealed partial class TtlCleanerTests(PostgresFixture fixture) : IAsyncLifetime
{
    // Only a safety net against a hang: the order of steps never depends on it.
    private static readonly TimeSpan Safety = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Period = TimeSpan.FromMinutes(10);

    private readonly TestScheduler _scheduler = new();
    private readonly ListLogger<TtlCleaner> _logger = new();
    private EventTable _table = null!;
    private EventStore _store = null!;

    public async Task InitializeAsync()
    {
        _table = await CreateTableAsync(fixture, "ttl");
        _store = new EventStore(fixture.DataSource, _table, new JsonEventSerializer(), _scheduler);
        _scheduler.AdvanceTo(T0.UtcTicks);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Start_OnePeriodPasses_DeletesExpiredRowsAndKeepsLiveOnes()
    {
        // Expire 5 minutes and 15 minutes after T0; the first run is at T0 + 10 minutes.
        var expiring = Create("orders", T0.AddMinutes(-10));
        var live = Create("orders", T0);
        await InsertAsync(fixture.DataSource, _table, expiring, live);
        await using var cleaner = new TtlCleaner(_store, Period, _logger);
        var runs = new List<TtlCleanupRun>();
        using var recording = cleaner.Runs.Subscribe(runs.Add);
        var firstRun = cleaner.Runs.FirstAsync().ToTask();
        cleaner.Start();

        _scheduler.AdvanceBy(Period.Ticks - 1);
        runs.Should().BeEmpty("no run is due before one period has passed");
        _scheduler.AdvanceBy(1);
        var run = await firstRun.WaitAsync(Safety);

        run.Should().Be(new TtlCleanupRun(T0 + Period, 1, null));
        cleaner.TotalDeleted.Should().Be(1);
        (await TestRows.IdsAsync(fixture.DataSource, _table)).Should().BeEquivalentTo([live.Id]);
    }

    [Fact]
    public async Task Runs_AnObserverThrows_TheOthersStillReceiveAndTheNextRunStillHappens()
    {
        await using var cleaner = new TtlCleaner(_store, Period, _logger);
        using var faulty = cleaner.Runs.Subscribe(_ => throw new InvalidOperationException("observer bug"));
        var runs = new List<TtlCleanupRun>();
        using var healthy = cleaner.Runs.Subscribe(runs.Add);
        cleaner.Start();

        for (var i = 1; i <= 2; i++)
        {
            var next = cleaner.Runs.FirstAsync().ToTask();
            _scheduler.AdvanceBy(Period.Ticks);
            await next.WaitAsync(Safety);
        }

        runs.Should().HaveCount(2, "the observer after the faulty one got both runs");
        _logger.Entries.Where(e => e.EventId.Id == 16).Should().HaveCount(2, "each throw of the observer is logged, not lost in a task nobody awaits");
    }

    [Fact]
    public async Task Start_SeveralPeriodsPass_RunsOncePerPeriodAsRowsExpire()
    {
        var events = Enumerable.Range(0, 3).Select(i => Create("orders", T0, ttl: TimeSpan.FromMinutes(5 + (10 * i)))).ToArray();
        await InsertAsync(fixture.DataSource, _table, events);
        await using var cleaner = new TtlCleaner(_store, Period, _logger);
        cleaner.Start();

        var deleted = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            var next = cleaner.Runs.FirstAsync().ToTask();
            _scheduler.AdvanceBy(Period.Ticks);
            deleted.Add((await next.WaitAsync(Safety)).Deleted);
        }

        deleted.Should().Equal([1, 1, 1, 0], "one row expires in each of the first three periods");
        cleaner.TotalDeleted.Should().Be(3);
    }

    [Fact]
    public async Task Runs_ARunFails_IsLoggedAndTheNextRunStillHappens()
    {
        await using var cleaner = new TtlCleaner(_store, Period, _logger);
        cleaner.Start();
        await using (var drop = fixture.DataSource.CreateCommand($"DROP TABLE {_table.QualifiedName}"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        var first = cleaner.Runs.FirstAsync().ToTask();
        _scheduler.AdvanceBy(Period.Ticks);
        var failed = await first.WaitAsync(Safety);
        await SchemaManager.EnsureSchemaAsync(fixture.DataSource, _table);
        await InsertAsync(fixture.DataSource, _table, Create("orders", T0.AddHours(-1)));
        var second = cleaner.Runs.FirstAsync().ToTask();
        _scheduler.AdvanceBy(Period.Ticks);
        var succeeded = await second.WaitAsync(Safety);

        failed.Succeeded.Should().BeFalse();
        failed.Error.Should().BeOfType<PostgresException>().Which.SqlState.Should().Be(PostgresErrorCodes.UndefinedTable);
        _logger.Entries.Should().ContainSingle(e => e.Level == LogLevel.Error)
            .Which.Exception.Should().BeSameAs(failed.Error);
        succeeded.Should().Be(new TtlCleanupRun(T0 + Period + Period, 1, null));
    }

    [Fact]
    public async Task Tick_PreviousRunStillRunning_IsSkippedSoRunsNeverOverlap()
    {
        await InsertAsync(fixture.DataSource, _table, Create("orders", T0.AddHours(-1)));
        await using var cleaner = new TtlCleaner(_store, Period, _logger);
        var runs = new List<TtlCleanupRun>();
        using var recording = cleaner.Runs.Subscribe(runs.Add);
        cleaner.Start();
        var firstRun = cleaner.Runs.FirstAsync().ToTask();

        // The lock blocks the first run's DELETE until the transaction ends; the cleaner marks a run as in
        // progress on the tick itself, so the second tick sees it whether or not the DELETE has started yet.
        await using (var connection = await fixture.DataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using (var lockTable = new NpgsqlCommand($"LOCK TABLE {_table.QualifiedName} IN ACCESS EXCLUSIVE MODE", connection, transaction))
            {
                await lockTable.ExecuteNonQueryAsync();
            }

            _scheduler.AdvanceBy(Period.Ticks);
            _scheduler.AdvanceBy(Period.Ticks);

            cleaner.SkippedRuns.Should().Be(1);
            runs.Should().BeEmpty("the first run is still waiting for the lock");
            await transaction.RollbackAsync();
        }

        (await firstRun.WaitAsync(Safety)).Should().Be(new TtlCleanupRun(T0 + Period, 1, null));
        _logger.Entries.Should().Contain(e => e.Level == LogLevel.Warning && e.Message.Contains("Skipped", StringComparison.Ordinal));
        var third = cleaner.Runs.FirstAsync().ToTask();
        _scheduler.AdvanceBy(Period.Ticks);
        (await third.WaitAsync(Safety)).At.Should().Be(T0 + (3 * Period), "the tick after a skipped one runs again");
    }

    [Fact]
    public async Task DisposeAsync_RunInProgress_CancelsItWaitsAndCompletesRuns()
    {
        await InsertAsync(fixture.DataSource, _table, Create("orders", T0.AddHours(-1)));
        var cleaner = new TtlCleaner(_store, Period, _logger);
        var runs = new List<TtlCleanupRun>();
        var completed = false;
        using var recording = cleaner.Runs.Subscribe(runs.Add, () => completed = true);
        cleaner.Start();

        await using (var connection = await fixture.DataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using (var lockTable = new NpgsqlCommand($"LOCK TABLE {_table.QualifiedName} IN ACCESS EXCLUSIVE MODE", connection, transaction))
            {
                await lockTable.ExecuteNonQueryAsync();
            }

            _scheduler.AdvanceBy(Period.Ticks);
            await cleaner.DisposeAsync().AsTask().WaitAsync(Safety);
            await transaction.RollbackAsync();
        }

        completed.Should().BeTrue();
        runs.Should().BeEmpty("a run cancelled by disposal is not a failure");
        _logger.Entries.Should().NotContain(e => e.Level >= LogLevel.Warning);
        (await TestRows.CountAsync(fixture.DataSource, _table)).Should().Be(1, "the cancelled DELETE rolled back");
    }

    [Fact]
    public async Task Dispose_BeforeTheFirstTick_NoRunHappens()
    {
        await InsertAsync(fixture.DataSource, _table, Create("orders", T0.AddHours(-1)));
        var cleaner = new TtlCleaner(_store, Period, _logger);
        var runs = new List<TtlCleanupRun>();
        using var recording = cleaner.Runs.Subscribe(runs.Add);
        cleaner.Start();

        cleaner.Dispose();
        _scheduler.AdvanceBy(10 * Period.Ticks);

        runs.Should().BeEmpty();
        (await TestRows.CountAsync(fixture.DataSource, _table)).Should().Be(1);
    }

    [Fact]
    public async Task Start_Twice_Throws()
    {
        await using var cleaner = new TtlCleaner(_store, Period);
        cleaner.Start();

        cleaner.Invoking(c => c.Start()).Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void Constructor_PeriodNotPositive_Throws()
    {
        var create = () => new TtlCleaner(_store, TimeSpan.Zero);

        create.Should().Throw<ArgumentOutOfRangeException>();
    }
}
