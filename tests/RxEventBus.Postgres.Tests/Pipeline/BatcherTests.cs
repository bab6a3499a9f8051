using Microsoft.Reactive.Testing;
using RxEventBus.Postgres.Pipeline;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Postgres.Tests.Pipeline;

public sealed class BatcherTests
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(100);
    private readonly TestScheduler _scheduler = new();
    private readonly ControlledSource<int> _source = new();

    private Pull<List<int>> Batches(int maxSize, TimeSpan? maxDelay = null) =>
        new(_source.Batch(maxSize, maxDelay ?? MaxDelay, _scheduler), _source.Complete);

    [Fact]
    public async Task Batch_CountReached_EmitsFullBatchWithoutWaitingForTime()
    {
        await using var batches = Batches(maxSize: 3);
        _source.Push(1, 2, 3, 4);

        (await batches.TakeAsync()).Should().Equal([1, 2, 3], "a batch is cut as soon as it holds the maximum count");
        _scheduler.Clock.Should().Be(0, "no virtual time passed");
    }

    [Fact]
    public async Task Batch_MaxDelaySinceFirstItem_EmitsPartialBatch()
    {
        await using var batches = Batches(maxSize: 10);
        _ = batches.Next;
        _source.Push(1, 2);
        await _source.WhenIdleAsync();

        _scheduler.AdvanceBy(MaxDelay.Ticks - 1);
        batches.Next.IsCompleted.Should().BeFalse("the first item is not yet MaxDelay old");

        _scheduler.AdvanceBy(1);
        (await batches.TakeAsync()).Should().Equal([1, 2], "the batch's first item reached the maximum age");
    }

    [Fact]
    public async Task Batch_RealTimePassesWhileVirtualTimeStandsStill_EmitsNothing()
    {
        await using var batches = Batches(maxSize: 10);
        _ = batches.Next;
        _source.Push(1);
        await _source.WhenIdleAsync();

        // Five times the maximum delay of real time: a deadline kept on a real clock would have cut the batch.
        await Task.Delay(MaxDelay * 5);

        batches.Next.IsCompleted.Should().BeFalse("the batch's age is measured on the scheduler, whose clock has not moved");
        _scheduler.AdvanceBy(MaxDelay.Ticks);
        (await batches.TakeAsync()).Should().Equal([1]);
    }

    [Fact]
    public async Task Batch_MaxDelayOfMinutes_IsCutTheMomentVirtualTimeReachesIt()
    {
        // Minutes, so that no real timer can cut the batch by luck within the test's few seconds.
        var maxDelay = TimeSpan.FromMinutes(10);
        await using var batches = Batches(maxSize: 10, maxDelay);
        _ = batches.Next;
        _source.Push(1, 2);
        await _source.WhenIdleAsync();

        _scheduler.AdvanceBy(maxDelay.Ticks - 1);
        batches.Next.IsCompleted.Should().BeFalse("one tick before the maximum age");
        _scheduler.AdvanceBy(1);

        (await batches.TakeAsync()).Should().Equal([1, 2], "ten virtual minutes passed in no real time");
    }

    [Fact]
    public async Task Batch_LaterItems_DoNotPushTheDeadlineBack()
    {
        await using var batches = Batches(maxSize: 10);
        _ = batches.Next;
        _source.Push(1);
        await _source.WhenIdleAsync();
        _scheduler.AdvanceBy(TimeSpan.FromMilliseconds(60).Ticks);
        _source.Push(2);
        await _source.WhenIdleAsync();

        _scheduler.AdvanceBy(TimeSpan.FromMilliseconds(40).Ticks);

        (await batches.TakeAsync()).Should().Equal([1, 2], "the delay is a maximum age timed from the first item, not a debounce");
        _scheduler.Clock.Should().Be(MaxDelay.Ticks);
    }

    [Fact]
    public async Task Batch_IdleSource_EmitsNoEmptyBatchAndArmsNoTimer()
    {
        await using var batches = Batches(maxSize: 10);
        _ = batches.Next;
        await _source.WhenIdleAsync();

        _scheduler.AdvanceBy(TimeSpan.FromMinutes(10).Ticks);

        batches.Next.IsCompleted.Should().BeFalse("an idle source gives no batch, empty or not");
        _source.Push(7);
        await _source.WhenIdleAsync();
        _scheduler.AdvanceBy(MaxDelay.Ticks);
        (await batches.TakeAsync()).Should().Equal([7], "the timer was armed by the first item, not by the idle period before it");
    }

    [Fact]
    public async Task Batch_SourceEnds_FlushesThePartialBatch()
    {
        await using var batches = Batches(maxSize: 10);
        _source.Push(1, 2, 3);
        _source.Complete();

        (await batches.TakeAsync()).Should().Equal([1, 2, 3], "the last partial batch is flushed when the source ends");
        await batches.ShouldEndAsync();
    }

    [Fact]
    public async Task Batch_TimerFiresWhileWaitingForAnItem_NextItemStartsTheNextBatchInOrder()
    {
        await using var batches = Batches(maxSize: 2);
        _ = batches.Next;
        _source.Push(1);
        await _source.WhenIdleAsync();
        _scheduler.AdvanceBy(MaxDelay.Ticks);
        (await batches.TakeAsync()).Should().Equal([1]);

        _ = batches.Next;
        _source.Push(2, 3, 4);

        (await batches.TakeAsync()).Should().Equal([2, 3], "the item awaited when the timer fired is kept, in order, for the next batch");
        _ = batches.Next;
        await _source.WhenIdleAsync();
        _scheduler.AdvanceBy(MaxDelay.Ticks);
        (await batches.TakeAsync()).Should().Equal([4]);
    }

    [Fact]
    public async Task Batch_CountCutBeforeDeadline_CancelsThatBatchesTimer()
    {
        await using var batches = Batches(maxSize: 2);
        _source.Push(1, 2);
        (await batches.TakeAsync()).Should().Equal([1, 2]);
        _ = batches.Next;
        _source.Push(3);
        await _source.WhenIdleAsync();

        _scheduler.AdvanceBy(MaxDelay.Ticks - 1);
        batches.Next.IsCompleted.Should().BeFalse("the cancelled timer of the first batch must not cut the second one early");
        _scheduler.AdvanceBy(1);
        (await batches.TakeAsync()).Should().Equal([3]);
    }
}
