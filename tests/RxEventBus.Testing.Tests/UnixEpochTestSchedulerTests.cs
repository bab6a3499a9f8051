using System.Reactive.Concurrency;
using System.Reactive.Linq;
using Microsoft.Reactive.Testing;

namespace RxEventBus.Testing.Tests;

// The kit's clock: a TestScheduler that reads the Unix epoch at tick 0 and counts ticks as Rx tests do.
public sealed class UnixEpochTestSchedulerTests : ReactiveTest
{
    [Fact]
    public void Now_TickZeroThenAdvanced_IsTheUnixEpochPlusTheTicks()
    {
        var scheduler = new UnixEpochTestScheduler();

        var atStart = scheduler.Now;
        scheduler.AdvanceTo(TimeSpan.FromMinutes(5).Ticks + 7);

        atStart.Should().Be(DateTimeOffset.UnixEpoch, "because the clock reads 1970-01-01T00:00:00Z at tick 0");
        scheduler.Now.Should().Be(DateTimeOffset.UnixEpoch + TimeSpan.FromMinutes(5) + TimeSpan.FromTicks(7));
        scheduler.Clock.Should().Be(TimeSpan.FromMinutes(5).Ticks + 7, "because ticks are counted exactly as on any TestScheduler");
    }

    [Fact]
    public void Schedule_AbsoluteTimeOnItsClock_RunsAtTheTickThatTimeNames()
    {
        var scheduler = new UnixEpochTestScheduler();
        var ranAt = new List<long>();
        scheduler.Schedule(DateTimeOffset.UnixEpoch + TimeSpan.FromSeconds(1), () => ranAt.Add(scheduler.Clock));
        var timer = scheduler.Start(() => Observable.Timer(DateTimeOffset.UnixEpoch.AddTicks(300), scheduler));

        ranAt.Should().Equal([TimeSpan.FromSeconds(1).Ticks], "because an absolute due time is read on the same clock as Now");
        timer.Messages.AssertEqual(OnNext(300, 0L), OnCompleted<long>(300));
    }
}
