namespace RxEventBus.Postgres;

/// <summary>
/// Where an <see cref="EventSubscription"/> starts reading when it has no stored checkpoint (an anonymous
/// subscription, or a name seen for the first time). A stored checkpoint always wins, as a Kafka consumer
/// group's committed offset wins over <c>auto.offset.reset</c>.
/// </summary>
public sealed class SubscriptionStart
{
    private SubscriptionStart(string name, LogPosition? position)
    {
        Name = name;
        Position = position;
    }

    /// <summary>Every stored row, oldest first.</summary>
    public static SubscriptionStart Beginning { get; } = new("beginning", LogPosition.Beginning);

    /// <summary>Only rows whose transactions had not ended when the subscription started: what is written from
    /// now on, and what transactions still open at that moment wrote.</summary>
    public static SubscriptionStart End { get; } = new("end", null);

    /// <summary>The rows after <paramref name="position"/> (exclusive), for example a position a previous run
    /// printed.</summary>
    public static SubscriptionStart After(LogPosition position) => new("after " + position, position);

    /// <summary>The position to read after; null for <see cref="End"/>, which is read from the server.</summary>
    internal LogPosition? Position { get; }

    private string Name { get; }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
