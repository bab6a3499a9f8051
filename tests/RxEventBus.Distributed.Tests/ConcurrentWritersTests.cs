using RxEventBus.Distributed.Tests.Support;

namespace RxEventBus.Distributed.Tests;

// Issue 12's first test with real processes: several publisher processes and plain-SQL writers that commit late,
// one `rxeventbus tail` process following live. The subscription must see every committed row exactly once, in
// the table's (tx, position) order, and never pass a row whose transaction was still open.
[Collection(DistributedCluster.Name)]
public sealed class ConcurrentWritersTests(ClusterFixture cluster)
{

    private const int History = 500;
    private const int DemoEvents = 3_000;
    private const int LateRows = 100;

    [Fact(Timeout = Limits.TestMilliseconds)]
    public async Task Tail_ThreePublisherProcessesAndTwoLateCommittingPsqlWriters_PrintsEveryCommittedRowOnceInTxPositionOrder()
    {
        var database = await cluster.CreateDatabaseAsync("writers");
        await database.InsertAsync(History, "history");
        await using var tail = Tailed.StartTail("tail", database, "--from", "beginning");
        await tail.WaitUntilAsync(t => t.OutCount >= History, "the tail prints the stored rows, then follows live", Limits.Patience);

        // The late writers insert first and hold their transactions open; everything below commits before them
        // with newer transaction ids, so a reader that went by what it sees (a high-water mark) would pass them.
        await using var late1 = Tailed.StartLateWriter("psql late#1", cluster, database, "rxeb-late-1", "late", LateRows, TimeSpan.FromSeconds(6));
        await using var late2 = Tailed.StartLateWriter("psql late#2", cluster, database, "rxeb-late-2", "late", LateRows, TimeSpan.FromSeconds(6));
        IReadOnlyList<ulong> lateXids = [];
        await Poll.UntilAsync(
            async () => (lateXids = await database.OpenWritersAsync("rxeb-late-%")).Count == 2,
            "both psql writers hold an open transaction that wrote",
            Limits.Patience);
        var fence = lateXids.Min();

        await using var demo1 = OsProcess.StartCli("demo#1", "demo", "--database-url", database.Url, "--events", $"{DemoEvents}");
        await using var demo2 = OsProcess.StartCli("demo#2", "demo", "--database-url", database.Url, "--events", $"{DemoEvents}");
        await using var demo3 = OsProcess.StartCli("demo#3", "demo", "--database-url", database.Url, "--events", $"{DemoEvents}");
        for (var i = 0; i < 5; i++)
        {
            await database.InsertAsync(20, "early");
        }

        // Taken while both late transactions are verified still open (read first, checked after): nothing printed by
        // then may come from a transaction at or after the oldest open one.
        var printedWhileOpen = Tailed.Events(tail);
        (await database.OpenWritersAsync("rxeb-late-%")).Should().HaveCount(2, "the late writers hold their transactions for 6 s");
        printedWhileOpen.Should().OnlyContain(e => e.At.Transaction < fence,
            "the fence holds back every row of a transaction newer than one still running, even rows already committed");

        foreach (var process in new[] { demo1, demo2, demo3, late1, late2 })
        {
            (await process.WaitForExitAsync(Limits.Patience)).Should().Be(0, "{0} finishes its writes (the demo checks its own rows)", process);
        }

        var rows = await database.RowsAsync();
        rows.Should().HaveCount(History + (3 * DemoEvents) + (2 * LateRows) + 100);
        await tail.WaitUntilAsync(t => t.OutCount >= rows.Count, "the tail prints every committed row", Limits.Patience);
        await tail.TerminateAsync();
        (await tail.WaitForExitAsync(Limits.Patience)).Should().Be(0, "SIGTERM ends a follow as its normal end: {0}", tail);

        var printed = Tailed.Events(tail);
        printed.Select(static e => e.Id).Should().Equal(rows.Select(static r => r.Id),
            "the tail prints every committed row exactly once, in the table's (tx, position) order");
        printed.Select(static e => e.At).Should().Equal(rows.Select(static r => r.At), "each line's position is its row's (tx, position)");
        printed.Select(static e => e.At).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems("positions strictly increase");
        printed.Where(static e => e.Topic == "late").Should().HaveCount(2 * LateRows, "the late rows are delivered, not skipped");
        printed.Where(static e => e.Topic == "late").Should().OnlyContain(e => e.At.Transaction >= fence);
        tail.Error.Should().Contain(static line => line.Contains("Live", StringComparison.Ordinal), "notices go to standard error");
    }
}
