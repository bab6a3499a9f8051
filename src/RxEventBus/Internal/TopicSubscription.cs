namespace RxEventBus.Internal;

// Topic(name): one observer of one topic. The hub's delivery lock serializes its notifications.
internal sealed class TopicSubscription(EventBus bus, long id, TopicHub hub, IObserver<Event> observer)
    : Subscription(bus, id)
{
    internal override SubscriptionKind Kind => SubscriptionKind.Topic;

    internal override IReadOnlyList<string> Patterns { get; } = [hub.Name];

    internal override void Deliver(Event @event)
    {
        if (!IsStopped)
        {
            observer.OnNext(@event);
        }
    }

    protected override Lock TerminalLock() => hub.Delivery;

    protected override void SendCompleted() => observer.OnCompleted();

    protected override void SendError(Exception error) => observer.OnError(error);
}
