namespace RxEventBus.Internal;

// Topic<T>(name): one observer of the typed view of one topic. An event whose payload is not a T throws
// here, so the hub reports it on EventBus.Errors and the subscription goes on with the next event. Its
// hub's delivery lock serializes it, and its ending goes through the hub, as a TopicSubscription's does.
internal sealed class TypedTopicSubscription<T>(EventBus bus, long id, TopicHub hub, IObserver<Event<T>> observer)
    : Subscription(bus, id)
{
    internal override SubscriptionKind Kind => SubscriptionKind.Topic;

    internal override IReadOnlyList<string> Patterns { get; } = [hub.Name];

    internal override void Deliver(Event @event)
    {
        if (!IsStopped)
        {
            observer.OnNext(new Event<T>(@event));
        }
    }

    protected override void SendEndingWhenFree() => hub.End(this);

    protected override void SendCompleted() => observer.OnCompleted();

    protected override void SendError(Exception error) => observer.OnError(error);
}
