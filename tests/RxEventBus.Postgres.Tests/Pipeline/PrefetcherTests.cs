using System.Runtime.CompilerServices;
using RxEventBus.Postgres.Pipeline;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Postgres.Tests.Pipeline;

public sealed class PrefetcherTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    // Counts the items it was asked for, and records that it was disposed (its finally ran).
    private sealed class CountingSource(int count = int.MaxValue, Exception? failAfter = null)
    {
        private int _pulled;

        public int Pulled => Volatile.Read(ref _pulled);

        public bool Disposed { get; private set; }

        public async IAsyncEnumerable<int> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            try
            {
                for (var i = 0; i < count; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    Interlocked.Increment(ref _pulled);
                    yield return i;
                    await Task.Yield();
                }

                if (failAfter is not null)
                {
                    throw failAfter;
                }
            }
            finally
            {
                Disposed = true;
            }
        }
    }

    [Fact]
    public async Task Prefetch_YieldsEveryItemInOrderAndEnds()
    {
        var source = new CountingSource(count: 10_000);

        var items = await source.ReadAsync().Prefetch(1, CancellationToken.None).ToListAsync();

        items.Should().Equal(Enumerable.Range(0, 10_000), "prefetching reorders, drops or repeats nothing");
        source.Disposed.Should().BeTrue();
    }

    [Fact]
    public async Task Prefetch_ConsumerSlow_RunsAtMostCountPlusOneItemsAhead()
    {
        var source = new CountingSource();
        await using var items = new Pull<int>(source.ReadAsync().Prefetch(2, CancellationToken.None), () => { });

        (await items.TakeAsync()).Should().Be(0);
        (await Task.Run(() => SpinWait.SpinUntil(() => source.Pulled >= 4, Patience))).Should()
            .BeTrue("it pulls ahead while the consumer is busy: 2 in the channel and 1 waiting for room");
        await Task.Delay(200);

        source.Pulled.Should().Be(4, "the consumer has taken 1; the stage holds at most count + 1 more, whatever the source could give");
        (await items.TakeAsync()).Should().Be(1);
        (await Task.Run(() => SpinWait.SpinUntil(() => source.Pulled >= 5, Patience))).Should().BeTrue("taking one makes room for one");
        await Task.Delay(200);
        source.Pulled.Should().Be(5);
    }

    [Fact]
    public async Task Prefetch_SourceFails_YieldsTheItemsBeforeTheFaultThenThrowsIt()
    {
        var source = new CountingSource(count: 3, failAfter: new InvalidOperationException("the source broke"));
        var seen = new List<int>();

        var reading = async () =>
        {
            await foreach (var item in source.ReadAsync().Prefetch(1, CancellationToken.None))
            {
                seen.Add(item);
            }
        };

        (await reading.Should().ThrowExactlyAsync<InvalidOperationException>()).WithMessage("the source broke");
        seen.Should().Equal([0, 1, 2], "what came before the fault is delivered first");
    }

    [Fact]
    public async Task Prefetch_ConsumerStopsEarly_SourceIsCancelledAndDisposedBeforeTheStageEnds()
    {
        var source = new CountingSource();

        await foreach (var item in source.ReadAsync().Prefetch(1, CancellationToken.None))
        {
            if (item == 3)
            {
                break;
            }
        }

        source.Disposed.Should().BeTrue("leaving the stage stops its producer and disposes the source before returning");
    }

    [Fact]
    public async Task Prefetch_Cancelled_ThrowsAndDisposesTheSource()
    {
        var source = new ControlledSource<int>();
        using var cancel = new CancellationTokenSource();
        var items = source.Prefetch(1, cancel.Token).GetAsyncEnumerator();
        source.Push(1);
        (await items.MoveNextAsync().AsTask().WaitAsync(Patience)).Should().BeTrue();
        var next = items.MoveNextAsync().AsTask();
        await source.WhenIdleAsync();

        await cancel.CancelAsync();

        await next.Awaiting(n => n.WaitAsync(Patience)).Should().ThrowAsync<OperationCanceledException>();
        await items.DisposeAsync();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task Prefetch_CountNotPositive_Throws(int count)
    {
        var reading = async () => await new CountingSource(1).ReadAsync().Prefetch(count, CancellationToken.None).ToListAsync();

        await reading.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }
}
