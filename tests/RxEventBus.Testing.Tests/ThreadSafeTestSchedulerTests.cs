using System.Reactive.Concurrency;
using System.Reactive.Linq;

namespace RxEventBus.Testing.Tests;

// The clock a user gives to code that schedules from pool threads (the Postgres consumer): timers armed on
// other threads while the test moves time must all run, once, at their virtual time, on the test's thread.
public sealed class ThreadSafeTestSchedulerTests
{
    [Fact]
    public async Task WhenScheduledAsync_TimerArmedOnAnotherThread_CompletesAndAdvanceRunsItAtItsTime()
    {
        var scheduler = new ThreadSafeTestScheduler(new UnixEpochTestScheduler());
        var ranAt = new List<(TimeSpan Elapsed, int Thread)>();
        var armed = scheduler.WhenScheduledAsync(TimeSpan.FromSeconds(5));

        await Task.Run(() => scheduler.Schedule(TimeSpan.FromSeconds(5), () => ranAt.Add((scheduler.Elapsed, Environment.CurrentManagedThreadId))));
        await armed;
        scheduler.AdvanceBy(TimeSpan.FromSeconds(4));
        ranAt.Should().BeEmpty("because the timer is due at 5 s");
        scheduler.AdvanceTo(TimeSpan.FromSeconds(5));

        ranAt.Should().Equal([(TimeSpan.FromSeconds(5), Environment.CurrentManagedThreadId)],
            "because due work runs when the test's thread moves the clock past it");
        scheduler.Now.Should().Be(DateTimeOffset.UnixEpoch.AddSeconds(5), "because the clock is the inner scheduler's");
    }

    [Fact]
    public async Task WhenScheduledAsync_NothingScheduled_FailsAfterTheTimeout()
    {
        var scheduler = new ThreadSafeTestScheduler();
        scheduler.Schedule(TimeSpan.FromSeconds(1), () => { });

        var wait = () => scheduler.WhenScheduledAsync(TimeSpan.FromSeconds(1), timeout: TimeSpan.FromMilliseconds(50));

        await wait.Should().ThrowAsync<TimeoutException>("because only what is scheduled after the call counts");
    }

    [Fact]
    public async Task Schedule_FromSeveralThreadsWhileTheTestAdvances_RunsEveryActionExactlyOnce()
    {
        const int Threads = 4;
        const int PerThread = 5_000;
        var cancelledDue = TimeSpan.FromDays(365 * 100);
        var scheduler = new ThreadSafeTestScheduler();
        var ran = 0;
        var cancelledRan = 0;
        using var start = new Barrier(Threads + 1);

        var producers = Enumerable.Range(0, Threads).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < PerThread; i++)
            {
                scheduler.Schedule(TimeSpan.FromTicks(1 + (i % 7)), () => Interlocked.Increment(ref ran));
                // Due far beyond where the loop below can move the clock while this thread is preempted.
                scheduler.Schedule(cancelledDue, () => Interlocked.Increment(ref cancelledRan)).Dispose();
            }
        })).ToArray();
        start.SignalAndWait();
        while (!producers.All(p => p.IsCompleted))
        {
            scheduler.AdvanceBy(TimeSpan.FromTicks(1));
        }

        await Task.WhenAll(producers);
        scheduler.AdvanceBy(cancelledDue * 2);

        ran.Should().Be(Threads * PerThread, "because no timer armed during an advance may be lost or run twice");
        cancelledRan.Should().Be(0, "because a timer disposed before its time never runs");
    }

    [Fact]
    public async Task Schedule_ActionThatSchedulesItsNextStep_SchedulesThroughTheGuardedClock()
    {
        var scheduler = new ThreadSafeTestScheduler();
        var nextStepArmed = scheduler.WhenScheduledAsync(TimeSpan.FromSeconds(7));
        IScheduler? seen = null;

        scheduler.Schedule(0, TimeSpan.FromSeconds(1), (self, _) =>
        {
            seen = self;
            return self.Schedule(TimeSpan.FromSeconds(7), () => { });
        });
        scheduler.AdvanceBy(TimeSpan.FromSeconds(1));

        seen.Should().BeSameAs(scheduler, "because work scheduled from an action must take the lock too");
        await nextStepArmed;
    }

    [Fact]
    public void Dispose_FromAnotherThreadWhileAnActionRuns_ReturnsAtOnceAndTheCancelledActionNeverRuns()
    {
        var scheduler = new ThreadSafeTestScheduler();
        var cancelledRan = false;
        var cancelled = scheduler.Schedule(TimeSpan.FromSeconds(2), () => cancelledRan = true);
        var disposedWhileRunning = false;

        // The action runs under the clock's lock and waits for another thread's cancellation, as a timer's
        // completion waits for a token's callback that is disposing another timer.
        scheduler.Schedule(TimeSpan.FromSeconds(1), () => disposedWhileRunning = Task.Run(cancelled.Dispose).Wait(TimeSpan.FromSeconds(5)));
        scheduler.AdvanceBy(TimeSpan.FromSeconds(3));

        disposedWhileRunning.Should().BeTrue("a cancellation does not wait for the lock the running action holds");
        cancelledRan.Should().BeFalse("an action cancelled before its time does not run, even if it stayed queued");
    }

    [Fact]
    public void Interval_OnTheClock_TicksAtItsVirtualTimes()
    {
        var scheduler = new ThreadSafeTestScheduler();
        var ticks = new List<TimeSpan>();

        using var subscription = Observable.Interval(TimeSpan.FromSeconds(1), scheduler).Take(3)
            .Subscribe(_ => ticks.Add(scheduler.Elapsed));
        scheduler.AdvanceBy(TimeSpan.FromSeconds(10));

        ticks.Should().Equal(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void AdvanceTo_EarlierThanTheClock_Throws()
    {
        var scheduler = new ThreadSafeTestScheduler();
        scheduler.AdvanceBy(TimeSpan.FromSeconds(2));

        var back = () => scheduler.AdvanceTo(TimeSpan.FromSeconds(1));

        back.Should().Throw<ArgumentOutOfRangeException>();
        scheduler.Elapsed.Should().Be(TimeSpan.FromSeconds(2));
    }
}
