using Microsoft.Extensions.Diagnostics.HealthChecks;
using RxEventBus.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the health of the bus's PostgreSQL persistence to <c>AddHealthChecks()</c>.</summary>
public static class RxEventBusHealthCheckBuilderExtensions
{
    /// <summary>
    /// Reports the persistence consumer registered by <c>AddPostgresPersistence</c> (<see cref="RxEventBusHealthCheck"/>):
    /// Healthy while it writes, Degraded while writes fail and are retried or its buffer is nearly full, Unhealthy when
    /// it is stopped or faulted.
    /// </summary>
    /// <param name="builder">The health-checks builder (<c>services.AddHealthChecks()</c>).</param>
    /// <param name="name">The check's name. Default: <c>rxeventbus</c>.</param>
    /// <param name="tags">Tags to filter checks by (for example <c>ready</c>).</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IHealthChecksBuilder AddRxEventBusHealthCheck(
        this IHealthChecksBuilder builder, string name = "rxeventbus", IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddCheck<RxEventBusHealthCheck>(name, failureStatus: null, tags ?? []);
    }
}
