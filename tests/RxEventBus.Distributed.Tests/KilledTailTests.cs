using RxEventBus.Distributed.Tests.Support;
using RxEventBus.Postgres;

namespace RxEventBus.Distributed.Tests;

// `kill -9` of a named tail in the middle of a catch-up, then the same name again: the checkpoint it stored is
// where the second process starts, nothing is missed, and what is printed twice is at most the unacknowledged tail.
[Collection(DistributedCluster.Name)]
public sealed class KilledTailTests(ClusterFixture cluster)
{

    private const int Stored = 100_000;
    private const int Later = 1_000;

    [Fact(Timeout = Limits.TestMilliseconds)]
    public async Task Tail_KilledMidStreamAndStartedAgainWithTheSameName_MissesNothingAndRepeatsAtMostCheckpointEvery()
    {
        var checkpointEvery = new EventSubscriptionOptions().CheckpointEvery;
        var database = await cluster.CreateDatabaseAsync("killed");
        for (var i = 0; i < 10; i++)
        {
            await database.InsertAsync(Stored / 10, "stored");
        }

        IReadOnlyList<TailedEvent> first;
        Cursor? acknowledged;
        await using (var tail = Tailed.StartTail("tail#1", database, "--subscription", "orders", "--from", "beginning"))
        {
            await tail.WaitUntilAsync(t => t.OutCount >= 5 * checkpointEvery, "the first tail is well into the catch-up", Limits.Patience);
            await Poll.UntilAsync(async () => await database.CheckpointAsync("orders") is not null, "a checkpoint is stored as it goes", Limits.Patience);
            tail.Kill();
            await tail.WaitForExitAsync(Limits.Patience);
            first = Tailed.Events(tail);
            acknowledged = await database.CheckpointAsync("orders");
        }

        first.Count.Should().BeLessThan(Stored, "the tail was killed in the middle of the stream");
        acknowledged.Should().NotBeNull();
        var covered = (await database.RowsAsync()).Where(r => r.At <= acknowledged!.Value).Select(static r => r.Id);
        covered.Except(first.Select(static e => e.Id)).Should().BeEmpty("a checkpoint only ever covers events the tail printed");

        // No --from: a stored checkpoint wins over the default (the end).
        await using var second = Tailed.StartTail("tail#2", database, "--subscription", "orders");
        await database.InsertAsync(Later, "later");
        var rows = await database.RowsAsync();
        await second.WaitUntilAsync(
            t => first.Count + t.OutCount >= rows.Count && Tailed.Events(t).Select(static e => e.Id).Union(first.Select(static e => e.Id)).Count() == rows.Count,
            "the second tail goes on until both runs together printed every row",
            Limits.Patience);
        var again = Tailed.Events(second);

        Ids.ShouldBeExactly(again.Select(static e => e.Id).Union(first.Select(static e => e.Id)), rows.Select(static r => r.Id), "the two runs together");
        again.Should().NotBeEmpty();
        again[0].At.Should().Be(rows.First(r => r.At > acknowledged.Value).At, "the second run starts right after the stored checkpoint");
        var repeated = first.Select(static e => e.Id).Intersect(again.Select(static e => e.Id)).ToList();
        repeated.Should().Equal(first.SkipWhile(e => e.At <= acknowledged.Value).Select(static e => e.Id),
            "what is printed twice is exactly what the first run printed after its last checkpoint");
        repeated.Count.Should().BeLessThanOrEqualTo(checkpointEvery,
            "a crash re-delivers at most CheckpointEvery handled events ({0} here)", checkpointEvery);
        again.Select(static e => e.Id).Should().OnlyHaveUniqueItems();
        again.Select(static e => e.At).Should().BeInAscendingOrder();
    }
}
