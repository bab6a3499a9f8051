using Microsoft.Extensions.Logging;

namespace RxEventBus.Hosting.Internal;

// What the bus itself reports, logged by EventBusLogging under the category RxEventBus.EventBus. The levels are
// for the person on call: a fault in someone's code, or events lost to a wrong topic, is an Error; a refusal
// is a Warning, since the publisher was told and it usually means a buffer protecting itself.
internal static partial class Log
{
    [LoggerMessage(102, LogLevel.Error, "Subscriber {Subscriber} threw on event {EventId} of topic {Topic}; the publisher and the other subscribers were not affected, and it keeps receiving (a tracked subscriber counts the event as skipped).")]
    internal static partial void SubscriberFailed(ILogger logger, Exception error, string subscriber, Guid eventId, string topic);

    [LoggerMessage(103, LogLevel.Error, "Subscriber {Subscriber} threw while the bus was ending it (OnCompleted or OnError); the bus went on ending the others.")]
    internal static partial void SubscriberEndingFailed(ILogger logger, Exception error, string subscriber);

    [LoggerMessage(104, LogLevel.Error, "Pattern subscription {Subscriber} was ended and receives nothing more: {Reason}")]
    internal static partial void PatternSubscriptionEnded(ILogger logger, Exception error, string subscriber, string reason);

    // Debug when the failure was a rejection, which 107 or 108 has already logged at its own level.
    [LoggerMessage(EventId = 105, Message = "An attached source could not publish event {EventId} to topic {Topic}: {Reason}")]
    internal static partial void AttachedSourcePublishFailed(ILogger logger, LogLevel level, Exception error, Guid? eventId, string? topic, string reason);

    [LoggerMessage(106, LogLevel.Error, "An attached source failed: it ended with an error (and publishes nothing more), or one of its items could not be made into an event.")]
    internal static partial void AttachedSourceFailed(ILogger logger, Exception error);

    [LoggerMessage(107, LogLevel.Warning, "Event {EventId} of topic {Topic} was refused by subscriber {Subscriber}: {Reason} The publisher got an EventRejectedException; the other subscribers received the event.")]
    internal static partial void EventRefused(ILogger logger, Guid eventId, string topic, string subscriber, string reason);

    [LoggerMessage(108, LogLevel.Error, "Event {EventId} was published to topic {Topic}, which is not registered: no subscriber received it, and the publisher got a TopicNotRegisteredException.")]
    internal static partial void TopicNotRegistered(ILogger logger, Guid eventId, string topic);
}
