namespace RxEventBus.Internal;

// Match(patterns): one observer of every topic its patterns match, now or registered later. It receives
// from several hubs at once, so its own lock keeps OnNext calls from overlapping.
internal sealed class PatternSubscription(EventBus bus, long id, TopicPatterns patterns, IObserver<Event> observer)
    : Subscription(bus, id)
{
    private readonly Lock _gate = new();

    internal TopicPatterns Matcher { get; } = patterns;

    internal override SubscriptionKind Kind => SubscriptionKind.Pattern;

    internal override IReadOnlyList<string> Patterns => Matcher.Patterns;

    internal override void Deliver(Event @event)
    {
        try
        {
            using (_gate.EnterScope())
            {
                if (!IsStopped)
                {
                    observer.OnNext(@event);
                }
            }
        }
        finally
        {
            // An ending recorded while this delivery held the lock was left for it to send (see Terminate).
            if (HasUnsentEnding)
            {
                SendEndingUnder(_gate);
            }
        }
    }

    protected override void SendEndingWhenFree() => SendEndingUnder(_gate);

    protected override void SendCompleted() => observer.OnCompleted();

    protected override void SendError(Exception error) => observer.OnError(error);
}
