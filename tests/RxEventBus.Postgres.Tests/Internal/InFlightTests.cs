using RxEventBus.Postgres.Internal;

namespace RxEventBus.Postgres.Tests.Internal;

// The consumer's ledger of events in flight, against a model: whatever the order of answers — batches answered out
// of order, an old batch stuck while newer ones pass many times around the table — it holds exactly what was taken
// and not answered, oldest first.
public sealed class InFlightTests : IDisposable
{
    private readonly EventBus _bus = new(new EventBusOptions { Topics = ["orders"] });
    private readonly List<TrackedEvent> _deliveries = [];
    private readonly IDisposable _subscription;

    public InFlightTests() => _subscription = _bus.Tracked("ledger", "orders").Subscribe(_deliveries.Add);

    private TrackedEvent Next()
    {
        _bus.Publish("orders", _deliveries.Count);
        return _deliveries[^1];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void AddAndDone_RandomBatchesAnsweredOutOfOrder_SnapshotIsExactlyWhatIsNotAnswered(int seed)
    {
        var random = new Random(seed);
        var ledger = new InFlight(expected: 8);
        var model = new SortedDictionary<long, TrackedEvent>();
        var open = new List<List<(long Sequence, TrackedEvent Delivery)>>();
        for (var step = 0; step < 400; step++)
        {
            if (random.Next(3) != 0 || open.Count == 0)
            {
                var batch = new List<(long, TrackedEvent)>();
                for (var i = random.Next(1, 20); i > 0; i--)
                {
                    var delivery = Next();
                    var sequence = ledger.Add(delivery);
                    model.Add(sequence, delivery);
                    batch.Add((sequence, delivery));
                }

                open.Add(batch);
            }
            else
            {
                var answered = open[random.Next(open.Count)];
                open.Remove(answered);
                ledger.Done(answered, static _ => true, static item => item.Sequence);
                answered.ForEach(item => model.Remove(item.Sequence));
            }

            ledger.Count.Should().Be(model.Count, $"step {step}");
        }

        ledger.Snapshot().Should().Equal(model.Values, "what is held, oldest first");
    }

    [Fact]
    public void Done_OldBatchStuckWhileNewerOnesPassManyTimesAroundTheTable_OnlyTheStuckOnesRemainAndTheTableDoesNotGrow()
    {
        var ledger = new InFlight(expected: 8);
        var stuck = Enumerable.Range(0, 4).Select(_ => Next()).Select(d => (Sequence: ledger.Add(d), Delivery: d)).ToList();

        for (var round = 0; round < 1_000; round++)
        {
            var batch = Enumerable.Range(0, 4).Select(_ => Next()).Select(d => (Sequence: ledger.Add(d), Delivery: d)).ToList();
            ledger.Done(batch, static _ => true, static item => item.Sequence);
        }

        ledger.Snapshot().Should().Equal(stuck.Select(s => s.Delivery), "4,000 later events came and went around the stuck ones");
        ledger.Capacity.Should().BeLessThanOrEqualTo(32, "at most 8 are in flight at once: the table grows with what is held, not with what passed");
        ledger.Done(stuck, static _ => true, static item => item.Sequence);
        ledger.Snapshot().Should().BeEmpty();
    }

    public void Dispose()
    {
        _subscription.Dispose();
        _bus.Dispose();
    }
}
