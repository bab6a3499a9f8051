namespace RxEventBus;

/// <summary>A live subscription, as listed by <see cref="EventBus.Subscribers()"/>.</summary>
/// <param name="Id">Unique per bus, in subscription order.</param>
/// <param name="Kind">How it subscribed.</param>
/// <param name="Name">The tracked subscriber's name; null for plain subscriptions.</param>
/// <param name="Patterns">The regexes it subscribed with; for a <see cref="SubscriptionKind.Topic"/> subscription, the topic name.</param>
/// <param name="Topics">The registered topics it currently receives.</param>
public sealed record SubscriberInfo(
    long Id,
    SubscriptionKind Kind,
    string? Name,
    IReadOnlyList<string> Patterns,
    IReadOnlyList<string> Topics);

/// <summary>How a subscription was made.</summary>
public enum SubscriptionKind
{
    /// <summary><see cref="EventBus.Topic(string)"/> or <see cref="EventBus.Topic{T}(string)"/>: one topic.</summary>
    Topic,

    /// <summary><see cref="EventBus.Match(string[])"/>: every topic matching one of its regexes, now or later.</summary>
    Pattern,

    /// <summary><see cref="EventBus.Tracked(string, string[])"/>: a pattern subscription that marks each event completed or skipped.</summary>
    Tracked,
}
