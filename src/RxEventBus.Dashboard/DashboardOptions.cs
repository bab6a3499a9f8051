namespace RxEventBus.Dashboard;

/// <summary>
/// How <see cref="DashboardEndpointRouteBuilderExtensions.MapRxEventBusDashboard"/> serves the dashboard. Who may see it
/// is not an option here: it is the endpoint authorization of the group the method returns (docs/dashboard.md).
/// </summary>
public sealed class DashboardOptions
{
    /// <summary>The most stored events one request to <c>api/stored/events</c> returns.</summary>
    public const int MaxStoredEventsLimit = 10_000;

    /// <summary>
    /// Whether the dead-letter actions (replay, purge) are served. Default false: the dashboard is read-only and
    /// the action routes answer 403.
    /// </summary>
    public bool EnableActions { get; set; }

    /// <summary>The period of the live metrics stream (<c>api/live</c>). Default 1 second; at least 100 ms.</summary>
    public TimeSpan LiveInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The most stored events one request to <c>api/stored/events</c> may ask for with <c>limit</c>; a larger
    /// <c>limit</c> is cut to it. Default 1,000; at most <see cref="MaxStoredEventsLimit"/>.
    /// </summary>
    public int StoredEventsLimit { get; set; } = 1000;

    /// <summary>The SSE <c>retry:</c> the streams announce: how long a browser waits before reconnecting. Default 3 seconds.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The messages one <c>api/tail</c> stream may have waiting before it is dropped as too slow (tests set it
    /// small).</summary>
    internal int TailClientQueue { get; set; } = 256;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (LiveInterval < TimeSpan.FromMilliseconds(100))
        {
            throw new ArgumentOutOfRangeException(nameof(LiveInterval), LiveInterval, "LiveInterval must be at least 100 ms.");
        }

        if (StoredEventsLimit is < 1 or > MaxStoredEventsLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(StoredEventsLimit), StoredEventsLimit,
                $"StoredEventsLimit must be between 1 and {MaxStoredEventsLimit}.");
        }

        if (ReconnectDelay <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ReconnectDelay), ReconnectDelay, "ReconnectDelay must be positive.");
        }
    }
}
