using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Npgsql;
using RxEventBus.Postgres.Tests.Support;
using static RxEventBus.Postgres.Tests.Support.TestEvents;

namespace RxEventBus.Postgres.Tests;

// Across instances (issue 12): one cleaner at a time per table, and no expired row deleted that a named
// subscription has not yet passed, unless told to.
public sealed partial class TtlCleanerTests
{
    [Fact]
    public async Task Run_AnotherInstanceHoldsTheCleaningLock_SkipsDeletingNothingThenCleansOnceItIsFree()
    {
        var expired = Create("orders", T0.AddMinutes(-20));
        await InsertAsync(fixture.DataSource, _table, expired);
        await using var otherInstance = await HoldCleaningLockAsync();
        await using var cleaner = new TtlCleaner(_store, Period, _logger);
        cleaner.Start();

        var skipped = await NextRunAsync(cleaner);

        skipped.Should().Be(new TtlCleanupRun(T0 + Period, 0, null) { LeftToOtherInstance = true }, "the other instance is cleaning");
        cleaner.SkippedForOtherInstance.Should().Be(1);
        cleaner.SkippedRuns.Should().Be(0, "the tick was not skipped for an overlap: it ran and found the lock taken");
        (await TestRows.IdsAsync(fixture.DataSource, _table)).Should().Equal([expired.Id], "a skipped run deletes nothing");
        _logger.Entries.Should().Contain(e => e.EventId.Id == 22 && e.Level == LogLevel.Debug && e.Message.Contains(_table.QualifiedName, StringComparison.Ordinal));

        await ReleaseAsync(otherInstance);
        var next = await NextRunAsync(cleaner);

        next.Should().Be(new TtlCleanupRun(T0 + (2 * Period), 1, null), "the lock is free again");
        (await TestRows.CountAsync(fixture.DataSource, _table)).Should().Be(0);
    }

    [Fact]
    public async Task DeleteExpiredAsync_AnotherInstanceHoldsTheCleaningLock_WaitsForItThenDeletes()
    {
        await InsertAsync(fixture.DataSource, _table, Create("orders", T0.AddMinutes(-20)));
        var otherInstance = await HoldCleaningLockAsync();

        var delete = _store.DeleteExpiredAsync();
        await Wait.UntilAsync(() => WaitingForAdvisoryLock(), "the delete queues on the cleaning lock");
        delete.IsCompleted.Should().BeFalse("it waits for the other instance's run to end");
        await ReleaseAsync(otherInstance);

        (await delete.WaitAsync(Safety)).Should().Be(1, "a call made by hand waits for the lock rather than skipping");
    }

    [Fact]
    public async Task Run_CheckpointsBelowSomeExpiredRows_KeepsTheRowsAboveTheLowestCheckpoint()
    {
        var rows = await InsertOneTransactionEachAsync(4);
        await StoreCheckpointAsync("fast", rows[3]);
        await StoreCheckpointAsync("slow", rows[1]);
        await using var cleaner = new TtlCleaner(_store, Period, _logger);
        cleaner.Start();

        var run = await NextRunAsync(cleaner);

        run.Deleted.Should().Be(2);
        (await TestRows.IdsAsync(fixture.DataSource, _table)).Should().BeEquivalentTo(
            [rows[2].Id, rows[3].Id], "the rows at or below the slowest subscription's checkpoint go; the ones above it wait for it");
    }

    [Fact]
    public async Task Run_SparesUnreadEventsOff_DeletesEveryExpiredRowWhateverTheCheckpoints()
    {
        var rows = await InsertOneTransactionEachAsync(3);
        await StoreCheckpointAsync("slow", rows[0]);
        await using var cleaner = new TtlCleaner(_store, Period, _logger) { SparesUnreadEvents = false };
        cleaner.Start();

        var run = await NextRunAsync(cleaner);

        run.Deleted.Should().Be(3, "TtlSparesUnreadEvents = false deletes expired rows regardless");
        (await TestRows.CountAsync(fixture.DataSource, _table)).Should().Be(0);
    }

    [Fact]
    public async Task Run_NoSubscription_DeletesEveryExpiredRow()
    {
        await InsertOneTransactionEachAsync(2);
        await using var cleaner = new TtlCleaner(_store, Period, _logger);
        cleaner.Start();

        (await NextRunAsync(cleaner)).Deleted.Should().Be(2, "with no checkpoint stored, no row is unread by anyone");
    }

    private async Task<TtlCleanupRun> NextRunAsync(TtlCleaner cleaner)
    {
        var next = cleaner.Runs.FirstAsync().ToTask();
        _scheduler.AdvanceBy(Period.Ticks);
        return await next.WaitAsync(Safety);
    }

    // Expired events, each written by its own transaction, so each has its own tx; in (tx, position) order.
    private async Task<List<Event>> InsertOneTransactionEachAsync(int count)
    {
        var events = new List<Event>();
        for (var i = 0; i < count; i++)
        {
            var @event = Create("orders", T0.AddMinutes(-20), n: i);
            await InsertAsync(fixture.DataSource, _table, @event);
            events.Add(@event);
        }

        return events;
    }

    // A named subscription that has handled every row up to `handled`, as the subscription stores it.
    private async Task StoreCheckpointAsync(string name, Event handled)
    {
        await using var command = fixture.DataSource.CreateCommand(
            $"INSERT INTO {_table.SubscriptionsQualifiedName} (name, tx, position) SELECT $1, tx, position FROM {_table.QualifiedName} WHERE id = $2");
        command.Parameters.AddWithValue(name);
        command.Parameters.AddWithValue(handled.Id);
        (await command.ExecuteNonQueryAsync()).Should().Be(1);
    }

    // Another instance's cleaner in the middle of its run: the session-level lock on the same key, held until
    // the returned connection is disposed (not pooled: a pooled session would keep the lock after the dispose).
    private async Task<NpgsqlConnection> HoldCleaningLockAsync()
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(fixture.ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_advisory_lock(hashtextextended($1, 0))", connection);
        command.Parameters.AddWithValue(EventStore.TtlLockKey(_table));
        await command.ExecuteNonQueryAsync();
        return connection;
    }

    // Unlocks before closing: a closed connection's backend releases its locks only when it has exited, a moment
    // after the client is gone, and a run in that moment would still find the lock taken.
    private static async Task ReleaseAsync(NpgsqlConnection connection)
    {
        await using (var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", connection))
        {
            await unlock.ExecuteNonQueryAsync();
        }

        await connection.DisposeAsync();
    }

    // Whether a session waits for the cleaning lock (a bigint key is split into classid and objid).
    private bool WaitingForAdvisoryLock()
    {
        using var command = fixture.DataSource.CreateCommand("""
            SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
                             AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0))
            """);
        command.Parameters.AddWithValue(EventStore.TtlLockKey(_table));
        return (bool)command.ExecuteScalar()!;
    }
}
