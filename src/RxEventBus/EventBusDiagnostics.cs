namespace RxEventBus;

/// <summary>
/// Counts of what a bus holds: live subscriptions (per topic and in all) and pending events. A test can end
/// by checking that its subscriptions went back to 0; a user hunting a leak can watch them grow.
/// </summary>
public sealed class EventBusDiagnostics
{
    private readonly EventBus _bus;

    internal EventBusDiagnostics(EventBus bus) => _bus = bus;

    /// <summary>Live subscriptions of every kind, whether or not a topic matches them yet.</summary>
    public int LiveSubscriptions => _bus.CountSubscriptions();

    /// <summary>
    /// Live subscriptions receiving <paramref name="topic"/>; 0 for a topic that is not registered (asking about
    /// a topic is never an error, see <see cref="EventBus.Subscribers(string)"/>).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="topic"/> is null.</exception>
    public int SubscriptionCount(string topic) => _bus.CountSubscriptions(topic);

    /// <summary>Live subscriptions receiving each registered topic.</summary>
    public IReadOnlyDictionary<string, int> SubscriptionsPerTopic() => _bus.CountSubscriptionsPerTopic();

    /// <summary>Events still waiting for a tracked subscriber's answer, over all topics.</summary>
    public int PendingEvents => _bus.CountPending();
}
