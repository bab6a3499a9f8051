using Microsoft.Extensions.Logging;

namespace RxEventBus.Hosting.Internal;

// Logs what the bus reports on Errors and Rejections. The core bus depends on System.Reactive only, so it
// cannot log; the container that builds it can, when the host gave it a logger factory. Both streams complete
// when the bus is disposed, which ends these subscriptions with it.
internal static class EventBusLogging
{
    // The category: the bus's type, as ILogger<EventBus> would name it.
    internal static readonly string Category = typeof(EventBus).FullName!;

    internal static EventBus LogTo(this EventBus bus, ILoggerFactory? loggerFactory)
    {
        if (loggerFactory is null)
        {
            return bus;
        }

        var logger = loggerFactory.CreateLogger(Category);
        bus.Errors.Subscribe(error => LogError(logger, error));
        bus.Rejections.Subscribe(rejection => LogRejection(logger, rejection));
        return bus;
    }

    private static void LogError(ILogger logger, EventBusError error)
    {
        switch (error.Origin)
        {
            case EventBusErrorOrigin.Subscriber when error.Event is { } @event:
                Log.SubscriberFailed(logger, error.Exception, Describe(error.Subscriber), @event.Id, @event.Topic);
                break;
            case EventBusErrorOrigin.Subscriber:
                Log.SubscriberEndingFailed(logger, error.Exception, Describe(error.Subscriber));
                break;
            case EventBusErrorOrigin.Pattern:
                Log.PatternSubscriptionEnded(logger, error.Exception, Describe(error.Subscriber), error.Exception.Message);
                break;
            case EventBusErrorOrigin.AttachedSource when error.Event is not null || IsRejection(error.Exception):
                Log.AttachedSourcePublishFailed(logger, IsRejection(error.Exception) ? LogLevel.Debug : LogLevel.Error,
                    error.Exception, error.Event?.Id, error.Event?.Topic, error.Exception.Message);
                break;
            default:
                Log.AttachedSourceFailed(logger, error.Exception);
                break;
        }
    }

    private static void LogRejection(ILogger logger, EventRejection rejection)
    {
        if (rejection.Reason == EventRejectionReason.TopicNotRegistered)
        {
            Log.TopicNotRegistered(logger, rejection.Event.Id, rejection.Event.Topic);
        }
        else
        {
            Log.EventRefused(logger, rejection.Event.Id, rejection.Event.Topic, Describe(rejection.Subscriber), rejection.Exception.Message);
        }
    }

    // A failed publish of an attached source that the bus also reported on Rejections (and so was logged there).
    private static bool IsRejection(Exception exception) => exception is EventRejectedException or TopicNotRegisteredException;

    // "'postgres' (#3 Tracked .*)" for a tracked subscriber, "#2 (Topic orders)" for the others.
    private static string Describe(SubscriberInfo? subscriber)
    {
        if (subscriber is null)
        {
            return "(unknown)";
        }

        var patterns = string.Join(", ", subscriber.Patterns);
        return subscriber.Name is null
            ? $"#{subscriber.Id} ({subscriber.Kind} {patterns})"
            : $"'{subscriber.Name}' (#{subscriber.Id} {subscriber.Kind} {patterns})";
    }
}
