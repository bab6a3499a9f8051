namespace RxEventBus.Internal;

// Topic(name): one observer of one topic. The hub's delivery lock serializes its notifications, and the hub
// calls the observer directly (Target), as a Subject would: disposal removes it from the hub's array, and an
// ending (unregistered topic, disposed bus) detaches it, then goes through the hub (TopicHub.End) so that it
// is sent under the same lock, after any publish still delivering from the old array.
internal sealed class TopicSubscription(EventBus bus, long id, TopicHub hub, IObserver<Event> observer)
    : Subscription(bus, id)
{
    internal override SubscriptionKind Kind => SubscriptionKind.Topic;

    internal override IReadOnlyList<string> Patterns { get; } = [hub.Name];

    internal override IObserver<Event> Target => observer;

    internal override void Deliver(Event @event) => observer.OnNext(@event);

    protected override void SendEndingWhenFree() => hub.End(this);

    protected override void SendCompleted() => observer.OnCompleted();

    protected override void SendError(Exception error) => observer.OnError(error);
}
