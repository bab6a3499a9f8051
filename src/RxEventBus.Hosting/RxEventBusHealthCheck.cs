using Microsoft.Extensions.Diagnostics.HealthChecks;
using RxEventBus.Postgres;

namespace RxEventBus.Hosting;

/// <summary>
/// The health of the bus's PostgreSQL persistence, for <c>/health</c> endpoints and orchestrators: the consumer's
/// state (<see cref="PostgresConsumer.Status"/>), how full its buffer is, and how long ago a batch last committed.
/// Registered with <see cref="Microsoft.Extensions.DependencyInjection.RxEventBusHealthCheckBuilderExtensions.AddRxEventBusHealthCheck"/>.
/// </summary>
/// <remarks>
/// <list type="table">
/// <item><term>Healthy</term><description>Running, and the buffer less than <see cref="FullBufferShare"/> full; or
/// persistence disabled.</description></item>
/// <item><term>Degraded</term><description>Writes are failing and being retried (the reason says whether the failure
/// is transient or needs a person), the buffer is nearly full (publishers are about to wait), or the consumer is
/// stopping.</description></item>
/// <item><term>Unhealthy</term><description>Not started, stopped, or faulted (the fault is the result's exception).</description></item>
/// </list>
/// The result's data holds <c>state</c>, <c>queue_depth</c>, <c>queue_capacity</c>, <c>queue_fill</c> (0 to 1),
/// <c>seconds_since_last_commit</c> (on the bus's scheduler; absent before the first commit), <c>persisted</c>,
/// <c>dead_lettered</c>, <c>refused</c> and <c>retries</c>.
/// </remarks>
public sealed class RxEventBusHealthCheck : IHealthCheck
{
    /// <summary>The share of the buffer above which the check reports Degraded: 0.9.</summary>
    public const double FullBufferShare = 0.9;

    private readonly PostgresPersistenceService _persistence;
    private readonly EventBus _bus;

    /// <summary>Checks the consumer run by <paramref name="persistence"/> on <paramref name="bus"/>.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public RxEventBusHealthCheck(PostgresPersistenceService persistence, EventBus bus)
    {
        ArgumentNullException.ThrowIfNull(persistence);
        ArgumentNullException.ThrowIfNull(bus);
        _persistence = persistence;
        _bus = bus;
    }

    /// <inheritdoc/>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (_persistence.Consumer is not { } consumer)
        {
            return Task.FromResult(HealthCheckResult.Healthy("PostgreSQL persistence is disabled (EB_PG_ENABLED=false)."));
        }

        var status = consumer.Status;
        var statistics = consumer.Statistics;
        var capacity = consumer.Options.BufferSize;
        var fill = (double)statistics.Buffered / capacity;
        var data = new Dictionary<string, object>
        {
            ["state"] = status.State.ToString(),
            ["queue_depth"] = statistics.Buffered,
            ["queue_capacity"] = capacity,
            ["queue_fill"] = fill,
            ["persisted"] = statistics.Persisted,
            ["dead_lettered"] = statistics.DeadLettered,
            ["refused"] = statistics.Refused,
            ["retries"] = statistics.Retries,
        };
        if (status.LastCommitAt is { } lastCommit)
        {
            data["seconds_since_last_commit"] = (_bus.Scheduler.Now - lastCommit).TotalSeconds;
        }

        var table = consumer.Table.QualifiedName;
        var result = status.State switch
        {
            ConsumerState.Running when fill >= FullBufferShare => HealthCheckResult.Degraded(
                $"Persisting to {table}, but the buffer is {fill:P0} full: publishers are about to wait for room.", data: data),
            ConsumerState.Running => HealthCheckResult.Healthy($"Persisting to {table}.", data),
            ConsumerState.Degraded => HealthCheckResult.Degraded($"Persisting to {table} is degraded. {status.Reason}", status.Error, data),
            ConsumerState.Stopping => HealthCheckResult.Degraded($"Persistence to {table} is stopping.", data: data),
            ConsumerState.Created => HealthCheckResult.Unhealthy($"Persistence to {table} has not started.", data: data),
            ConsumerState.Stopped => HealthCheckResult.Unhealthy(
                $"Persistence to {table} has stopped{(status.Reason is null ? "." : ": " + status.Reason)}", data: data),
            _ => HealthCheckResult.Unhealthy($"Persistence to {table} faulted: {status.Reason}", status.Error, data),
        };
        return Task.FromResult(result);
    }
}
