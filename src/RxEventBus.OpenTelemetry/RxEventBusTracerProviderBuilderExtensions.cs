using RxEventBus;

// In OpenTelemetry's own namespace, as its instrumentation packages do: the method is found wherever the
// application already writes `using OpenTelemetry.Trace;` to configure its tracing.
namespace OpenTelemetry.Trace;

/// <summary>Collects RxEventBus's traces with OpenTelemetry.</summary>
public static class RxEventBusTracerProviderBuilderExtensions
{
    /// <summary>
    /// Collects RxEventBus's spans: one <c>rxeventbus.batch.write</c> per batch the PostgreSQL consumer writes,
    /// around its COPY attempts, retries and splits. The same as <c>AddSource(RxEventBusTelemetry.ActivitySourceName)</c>.
    /// </summary>
    /// <param name="builder">The tracer provider's builder.</param>
    /// <returns>The same builder, to chain further calls.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static TracerProviderBuilder AddRxEventBusInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(RxEventBusTelemetry.ActivitySourceName);
    }
}
