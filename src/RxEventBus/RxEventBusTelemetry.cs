namespace RxEventBus;

/// <summary>
/// Names under which RxEventBus reports metrics (<see cref="System.Diagnostics.Metrics"/>) and traces
/// (<see cref="System.Diagnostics.ActivitySource"/>). Every package of RxEventBus records on a meter of this
/// one name, so one subscription collects them all, e.g. with OpenTelemetry:
/// <c>metrics.AddMeter(RxEventBusTelemetry.MeterName)</c> and <c>tracing.AddSource(RxEventBusTelemetry.ActivitySourceName)</c>.
/// </summary>
/// <remarks>
/// Nothing is measured until a listener subscribes: with none, publishing pays one branch per event and
/// allocates nothing. The instruments, their units and tags are listed in <c>docs/observability.md</c>.
/// </remarks>
public static class RxEventBusTelemetry
{
    /// <summary>The name of the meter every RxEventBus instrument belongs to: <c>RxEventBus</c>.</summary>
    public const string MeterName = "RxEventBus";

    /// <summary>The name of the activity source RxEventBus traces with: <c>RxEventBus</c>.</summary>
    public const string ActivitySourceName = "RxEventBus";
}
