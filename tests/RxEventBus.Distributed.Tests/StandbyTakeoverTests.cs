using System.Diagnostics;
using RxEventBus.Distributed.Tests.Support;
using RxEventBus.Postgres;

namespace RxEventBus.Distributed.Tests;

// Two processes tail the same subscription name: one delivers, the other waits in standby and prints nothing;
// when the first is killed (-9), the second takes over within seconds, from the stored checkpoint, missing nothing.
[Collection(DistributedCluster.Name)]
public sealed class StandbyTakeoverTests(ClusterFixture cluster)
{

    // The leader's advisory lock goes with its connection, which the kernel closes when the process dies; the
    // standby retries every LeaderRetryInterval (1 s by default). A generous bound for a loaded machine.
    private static readonly TimeSpan Takeover = TimeSpan.FromSeconds(15);

    [Fact(Timeout = Limits.TestMilliseconds)]
    public async Task Tail_TwoProcessesOneName_OneDeliversTheOtherWaitsThenTakesOverWhenTheFirstIsKilled()
    {
        var checkpointEvery = new EventSubscriptionOptions().CheckpointEvery;
        var database = await cluster.CreateDatabaseAsync("takeover");
        await database.InsertAsync(3_000, "stored");
        await using var leader = Tailed.StartTail("tail#1", database, "--subscription", "shared", "--from", "beginning");
        await leader.WaitUntilAsync(static t => t.OutCount > 0, "the first tail leads and delivers", Limits.Patience);
        await using var standby = Tailed.StartTail("tail#2", database, "--subscription", "shared", "--from", "beginning");
        await standby.WaitUntilAsync(
            static t => t.Error.Any(static line => line.Contains("Standby", StringComparison.Ordinal)),
            "the second tail says it waits in standby",
            Limits.Patience);

        await leader.WaitUntilAsync(static t => t.OutCount >= 3_000, "the leader prints the stored rows", Limits.Patience);
        await database.InsertAsync(1_000, "live");
        await leader.WaitUntilAsync(static t => t.OutCount >= 4_000, "the leader prints the live rows", Limits.Patience);
        standby.OutCount.Should().Be(0, "the standby prints nothing while the leader delivers: {0}", standby);

        leader.Kill();
        var killed = Stopwatch.StartNew();
        await leader.WaitForExitAsync(Limits.Patience);
        await database.InsertAsync(1_000, "after");
        await standby.WaitUntilAsync(static t => t.OutCount > 0, "the standby takes over once the leader is gone", Takeover);
        killed.Elapsed.Should().BeLessThan(Takeover);

        var rows = await database.RowsAsync();
        var first = Tailed.Events(leader);
        await standby.WaitUntilAsync(
            t => Tailed.Events(t).Select(static e => e.Id).Union(first.Select(static e => e.Id)).Count() == rows.Count,
            "across the handover the two tails printed every row",
            Limits.Patience);
        var second = Tailed.Events(standby);
        Ids.ShouldBeExactly(second.Select(static e => e.Id).Union(first.Select(static e => e.Id)), rows.Select(static r => r.Id), "across the handover");
        first.Select(static e => e.Id).Intersect(second.Select(static e => e.Id)).Count().Should().BeLessThanOrEqualTo(checkpointEvery,
            "the new leader starts at the stored checkpoint: it repeats at most the unacknowledged tail");
        second.Select(static e => e.At).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
    }
}
