using RxEventBus.Postgres.Pipeline;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Postgres.Tests.Pipeline;

// Random interleavings of items and virtual-time advances, checked against a model of the batcher's
// contract: a batch closes at MaxSize items or when its first item is MaxDelay old, whichever comes first.
// From the model's batches the properties follow, and they are asserted too: every item in exactly one
// batch, in order, no batch larger than the maximum, none older than the maximum delay.
public sealed class BatcherPropertyTests
{
    private const int MaxSize = 7;
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(50);

    public static TheoryData<int> Seeds() => [.. Enumerable.Range(1, 40)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Batch_RandomInterleavings_MatchesTheModelAndKeepsItsProperties(int seed)
    {
        var random = new Random(seed);
        var scheduler = new ThreadSafeTestScheduler();
        var source = new ControlledSource<(int Item, long PushedAt)>();
        var actual = new List<IReadOnlyList<(int Item, long PushedAt)>>();
        var received = new SemaphoreSlim(0);
        var reader = Task.Run(async () =>
        {
            await foreach (var batch in source.Batch(MaxSize, MaxDelay, scheduler))
            {
                lock (actual)
                {
                    actual.Add(batch);
                }

                received.Release();
            }
        });
        var model = new Model();
        var next = 0;

        for (var step = 0; step < 120; step++)
        {
            int expected;
            if (random.Next(2) == 0)
            {
                var items = Enumerable.Range(0, random.Next(1, 2 * MaxSize)).Select(_ => (next++, scheduler.Clock)).ToArray();
                expected = items.Sum(i => model.Push(i));
                source.Push(items);
                await source.WhenIdleAsync();
            }
            else
            {
                var by = TimeSpan.FromMilliseconds(random.Next(1, 80));
                expected = model.AdvanceTo(scheduler.Clock + by.Ticks);
                scheduler.AdvanceBy(by);
            }

            for (var i = 0; i < expected; i++)
            {
                (await received.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeTrue($"seed {seed}, step {step}: the model expects another batch");
            }
        }

        source.Complete();
        await reader.WaitAsync(TimeSpan.FromSeconds(10));
        model.Flush();

        var batches = actual.Select(a => a.Select(i => i.Item).ToArray()).ToList();
        batches.Should().BeEquivalentTo(model.Batches, o => o.WithStrictOrdering(), $"seed {seed}: the batcher follows the model");
        batches.SelectMany(b => b).Should().Equal(Enumerable.Range(0, next), "every item is in exactly one batch, in order");
        batches.Should().OnlyContain(b => b.Length >= 1 && b.Length <= MaxSize, "no batch is empty or larger than the maximum");
        model.Ages.Should().OnlyContain(age => age <= MaxDelay.Ticks,
            "no batch is older than the maximum delay when it closes (and each real batch arrived in the step the model closed it)");
    }

    private sealed class Model
    {
        private readonly List<int> _open = [];
        private long _openedAt;

        public List<int[]> Batches { get; } = [];

        // For each batch closed by count or by time: how old its first item was when it closed.
        public List<long> Ages { get; } = [];

        public int Push((int Item, long PushedAt) item)
        {
            if (_open.Count == 0)
            {
                _openedAt = item.PushedAt;
            }

            _open.Add(item.Item);
            return _open.Count == MaxSize ? Close(item.PushedAt) : 0;
        }

        public int AdvanceTo(long clock) =>
            _open.Count > 0 && _openedAt + MaxDelay.Ticks <= clock ? Close(_openedAt + MaxDelay.Ticks) : 0;

        public void Flush()
        {
            if (_open.Count > 0)
            {
                Batches.Add([.. _open]);
            }
        }

        private int Close(long at)
        {
            Ages.Add(at - _openedAt);
            Batches.Add([.. _open]);
            _open.Clear();
            return 1;
        }
    }
}
