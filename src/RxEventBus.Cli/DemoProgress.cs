using RxEventBus.Postgres;

namespace RxEventBus.Cli;

/// <summary>One reading of a demo run: the publisher's counts, the consumer's statistics, the bus's pending events.</summary>
/// <param name="Requested">Events the run was asked to publish (--events).</param>
/// <param name="Published">Events the bus accepted so far.</param>
/// <param name="Statistics">The consumer's counters.</param>
/// <param name="Pending">Events the bus still holds for the consumer (accepted, not yet committed).</param>
/// <param name="Elapsed">Time since publishing began.</param>
/// <param name="Phase">What the run is doing: publishing, flushing, stopping.</param>
internal sealed record DemoProgress(long Requested, long Published, PersistenceStatistics Statistics, int Pending, TimeSpan Elapsed, string Phase)
{
    /// <summary>Committed events per second since publishing began.</summary>
    public double EventsPerSecond => Elapsed > TimeSpan.Zero ? Statistics.Persisted / Elapsed.TotalSeconds : 0;
}
