namespace RxEventBus;

/// <summary>
/// An event the bus did not deliver to everyone, whose publisher got an exception for it, published on
/// <see cref="EventBus.Rejections"/> so that someone other than the publisher (a log, an alert) learns of it.
/// </summary>
/// <param name="Reason">Why: a subscriber refused it, or its topic is not registered.</param>
/// <param name="Event">The event that was refused.</param>
/// <param name="Subscriber">The subscriber that refused it, for <see cref="EventRejectionReason.RefusedBySubscriber"/>; else null.</param>
/// <param name="Exception">What the publisher got (or, when several subscribers refused, what this one threw):
/// an <see cref="EventRejectedException"/> or a <see cref="TopicNotRegisteredException"/>.</param>
public sealed record EventRejection(
    EventRejectionReason Reason,
    Event Event,
    SubscriberInfo? Subscriber,
    Exception Exception);

/// <summary>Why an <see cref="EventRejection"/> happened.</summary>
public enum EventRejectionReason
{
    /// <summary>
    /// A subscriber threw <see cref="EventRejectedException"/> from <c>OnNext</c> (for example a bounded buffer
    /// that is full under a <c>Fail</c> overflow policy); the other subscribers received the event.
    /// </summary>
    RefusedBySubscriber,

    /// <summary>
    /// The event's topic is not registered and the bus does not register topics on first use
    /// (<see cref="EventBusOptions.AutoRegisterTopics"/>); no subscriber received it.
    /// </summary>
    TopicNotRegistered,
}
