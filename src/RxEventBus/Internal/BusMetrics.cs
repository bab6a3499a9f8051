using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace RxEventBus.Internal;

// The core's instruments, on the process-wide "RxEventBus" meter. Publishing is the hot path: with no
// listener, recording is one read of Enabled and a branch; with one, a counter add with a tag made once per
// topic (a KeyValuePair holding a string boxes nothing). Either way a publish allocates nothing here.
internal static class BusMetrics
{
    internal const string TopicTagName = "topic";
    internal const string ReasonTagName = "reason";

    private static readonly Meter Meter = new(RxEventBusTelemetry.MeterName, typeof(BusMetrics).Assembly.GetName().Version?.ToString());

    private static readonly Counter<long> PublishedCounter = Meter.CreateCounter<long>(
        "rxeventbus.events.published", "{event}", "Events published to a topic, whether or not it has subscribers.");

    // Off the hot path: recorded only when a publisher is about to get an exception.
    private static readonly Counter<long> RejectedCounter = Meter.CreateCounter<long>(
        "rxeventbus.events.rejected", "{event}", "Refusals of events to their publisher: one per refusing subscriber, or per publish to an unregistered topic.");

    // Made once per topic by its hub, so that publishing never builds a tag.
    internal static KeyValuePair<string, object?> TopicTag(string topic) => new(TopicTagName, topic);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Published(in KeyValuePair<string, object?> topicTag)
    {
        if (PublishedCounter.Enabled)
        {
            PublishedCounter.Add(1, topicTag);
        }
    }

    internal static void Rejected(string topic, EventRejectionReason reason)
    {
        if (RejectedCounter.Enabled)
        {
            RejectedCounter.Add(1, new(TopicTagName, topic), new(ReasonTagName, reason == EventRejectionReason.TopicNotRegistered ? "topic_not_registered" : "refused"));
        }
    }
}
