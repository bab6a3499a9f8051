namespace RxEventBus;

/// <summary>
/// An event the bus still holds because a tracked subscriber has not completed or skipped it.
/// </summary>
/// <param name="Event">The event.</param>
/// <param name="Subscribers">The tracked subscribers the event was delivered to.</param>
/// <param name="Completers">Those of them that marked it completed.</param>
/// <param name="Skippers">Those of them that marked it skipped (or threw while handling it, or went away).</param>
public sealed record PendingEvent(
    Event Event,
    IReadOnlyList<string> Subscribers,
    IReadOnlyList<string> Completers,
    IReadOnlyList<string> Skippers);
