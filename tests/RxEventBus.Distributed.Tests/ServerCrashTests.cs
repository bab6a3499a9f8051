using RxEventBus.Distributed.Tests.Support;

namespace RxEventBus.Distributed.Tests;

// The server crashes (pg_ctl stop -m immediate) under a running named tail and comes back on the same port: the
// same process reconnects by itself and delivers everything, each row once.
[Collection(DistributedCluster.Name)]
public sealed class ServerCrashTests(ClusterFixture cluster)
{

    [Fact(Timeout = Limits.TestMilliseconds)]
    public async Task Tail_ServerStoppedImmediatelyAndStartedAgain_ReconnectsByItselfAndPrintsEveryRowOnce()
    {
        var database = await cluster.CreateDatabaseAsync("crash");
        await database.InsertAsync(1_000, "before");
        await database.InsertAsync(1_000, "before");
        await using var tail = Tailed.StartTail("tail", database, "--subscription", "crash", "--from", "beginning");
        await tail.WaitUntilAsync(t => t.OutCount >= 2_000, "the tail prints the stored rows", Limits.Patience);

        await cluster.Server.StopAsync(immediate: true);
        try
        {
            await tail.WaitUntilAsync(
                static t => t.Error.Any(static line => line.Contains("Reconnecting", StringComparison.Ordinal)),
                "the tail says it lost the server and reconnects",
                Limits.Patience);
        }
        finally
        {
            await cluster.Server.StartAsync();
        }

        for (var i = 0; i < 4; i++)
        {
            await database.InsertAsync(500, "after");
        }

        var rows = await database.RowsAsync();
        await tail.WaitUntilAsync(t => t.OutCount >= rows.Count, "the same process prints the rows written after the restart", Limits.Patience);
        await Poll.UntilAsync(
            async () => await database.CheckpointAsync("crash") is { } stored && stored >= rows[^1].At,
            "the checkpoint covers the last row once the tail is idle",
            Limits.Patience);

        tail.HasExited.Should().BeFalse("the tail resumed by itself, without a restart: {0}", tail);
        Tailed.Events(tail).Select(static e => e.Id).Should().Equal(rows.Select(static r => r.Id),
            "every row, once, in order: it resumed after the last row it printed");
    }
}
