using RxEventBus.Postgres.Internal;
using RxEventBus.Postgres.Tests.Support;

namespace RxEventBus.Postgres.Tests.Internal;

// Retry waits in virtual time: exponential, capped, and jittered so that instances which lost the database at the
// same moment do not retry in lockstep.
public sealed class BackoffTests
{
    private static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task WaitAsync_TwoConsumersAfterTheSameFailure_WaitDifferentTimesWithinTheBackoffBounds()
    {
        // Each consumer builds its policy from its own Random; seeded here so the test is the same every run.
        var first = await RetryDelaysAsync(new Random(1), jitter: 0.5, attempts: 8);
        var second = await RetryDelaysAsync(new Random(2), jitter: 0.5, attempts: 8);

        first.Should().NotEqual(second, "two instances must not retry in lockstep after a server restart");
        first.Zip(second).Count(pair => pair.First == pair.Second).Should().Be(0, "no retry of one lines up with the other's");
        foreach (var delays in new[] { first, second })
        {
            for (var attempt = 0; attempt < delays.Count; attempt++)
            {
                var ceiling = Ceiling(attempt);
                delays[attempt].Should().BeGreaterThanOrEqualTo(ceiling / 2, "a jitter of 0.5 shortens a wait by at most half")
                    .And.BeLessThanOrEqualTo(ceiling, "jitter never lengthens the backoff's delay");
            }
        }
    }

    [Fact]
    public async Task WaitAsync_NoJitter_WaitsExactlyTheDoublingDelaysUpToTheMax()
    {
        var delays = await RetryDelaysAsync(new Random(1), jitter: 0, attempts: 7);

        delays.Should().Equal(Enumerable.Range(0, 7).Select(Ceiling), "100, 200, 400, 800, 1600 ms, then the 2 s cap");
    }

    private static TimeSpan Ceiling(int attempt) => TimeSpan.FromTicks(Math.Min(Initial.Ticks << attempt, Max.Ticks));

    // The waits one backoff makes, each checked to be armed on the scheduler for exactly its NextDelay and to end
    // only when virtual time has moved by that much.
    private static async Task<List<TimeSpan>> RetryDelaysAsync(Random random, double jitter, int attempts)
    {
        var scheduler = new ThreadSafeTestScheduler();
        var backoff = new RetryPolicy(scheduler, Initial, Max, jitter, random).Start();
        var delays = new List<TimeSpan>();
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var delay = backoff.NextDelay;
            var armed = scheduler.WhenScheduledAsync(delay);
            var wait = backoff.WaitAsync(CancellationToken.None);
            await armed;
            scheduler.AdvanceBy(delay - TimeSpan.FromTicks(1));
            wait.IsCompleted.Should().BeFalse("the wait lasts its whole delay");
            scheduler.AdvanceBy(TimeSpan.FromTicks(1));
            await wait.WaitAsync(TimeSpan.FromSeconds(10));
            delays.Add(delay);
        }

        backoff.Attempts.Should().Be(attempts);
        return delays;
    }
}
