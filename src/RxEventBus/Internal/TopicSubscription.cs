namespace RxEventBus.Internal;

// Topic(name): one observer of one topic. The hub's delivery lock serializes its notifications, and the hub
// calls the observer directly (Target), as a Subject would: disposal removes it from the hub's array, and an
// ending (unregistered topic, disposed bus) detaches it before OnCompleted, under the same lock.
internal sealed class TopicSubscription(EventBus bus, long id, TopicHub hub, IObserver<Event> observer)
    : Subscription(bus, id)
{
    internal override SubscriptionKind Kind => SubscriptionKind.Topic;

    internal override IReadOnlyList<string> Patterns { get; } = [hub.Name];

    internal override IObserver<Event> Target => observer;

    internal override void Deliver(Event @event) => observer.OnNext(@event);

    protected override Lock TerminalLock() => hub.Delivery;

    protected override void SendCompleted() => observer.OnCompleted();

    protected override void SendError(Exception error) => observer.OnError(error);
}
