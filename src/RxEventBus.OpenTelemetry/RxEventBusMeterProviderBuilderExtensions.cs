using RxEventBus;

// In OpenTelemetry's own namespace, as its instrumentation packages do: the method is found wherever the
// application already writes `using OpenTelemetry.Metrics;` to configure its meters.
namespace OpenTelemetry.Metrics;

/// <summary>Collects RxEventBus's metrics with OpenTelemetry.</summary>
public static class RxEventBusMeterProviderBuilderExtensions
{
    /// <summary>
    /// Collects every RxEventBus instrument: the bus's (<c>rxeventbus.events.published</c>, <c>rxeventbus.events.rejected</c>) and the PostgreSQL
    /// consumer's (events persisted, dropped, dead-lettered, refused; queue depth; batch size; COPY duration).
    /// The same as <c>AddMeter(RxEventBusTelemetry.MeterName)</c>.
    /// </summary>
    /// <param name="builder">The meter provider's builder.</param>
    /// <returns>The same builder, to chain further calls.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static MeterProviderBuilder AddRxEventBusInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(RxEventBusTelemetry.MeterName);
    }
}
