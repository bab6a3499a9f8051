namespace RxEventBus;

/// <summary>
/// A fault the bus caught so that it would not reach a publisher or another subscriber, published on
/// <see cref="EventBus.Errors"/>.
/// </summary>
/// <param name="Origin">What failed: a subscriber (see <see cref="Subscriber"/>) or an attached source.</param>
/// <param name="Subscriber">The subscriber that threw, when <paramref name="Origin"/> is a subscriber.</param>
/// <param name="Event">The event being delivered or published when it failed, if any.</param>
/// <param name="Exception">What was thrown.</param>
public sealed record EventBusError(
    EventBusErrorOrigin Origin,
    SubscriberInfo? Subscriber,
    Event? Event,
    Exception Exception);

/// <summary>Where an <see cref="EventBusError"/> came from.</summary>
public enum EventBusErrorOrigin
{
    /// <summary>A subscriber threw from <c>OnNext</c>, or its event did not fit its typed view.</summary>
    Subscriber,

    /// <summary>A pattern subscription could not match a topic (regex match timeout) and was ended.</summary>
    Pattern,

    /// <summary>A source attached with <see cref="EventBus.Attach{T}(string, IObservable{T})"/> failed or could not publish.</summary>
    AttachedSource,
}
