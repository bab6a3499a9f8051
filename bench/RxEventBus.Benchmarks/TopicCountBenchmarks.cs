using System.Globalization;
using System.Reactive.Disposables;
using BenchmarkDotNet.Attributes;

namespace RxEventBus.Benchmarks;

/// <summary>
/// Issue 2's second target: publishing costs one lookup plus the topic's subscribers, so a bus with
/// 10,000 registered topics and 1,000 pattern subscriptions publishes within 1.1 × the cost of a bus
/// with 10 topics.
/// </summary>
/// <remarks>
/// The published topic has the same single subscriber on both buses; one subscriber keeps the bus's fixed
/// cost (where a topic count could show) the largest share of the time. The 1,000 patterns are live:
/// pattern <c>i</c> matches registered topic <c>topic_{10·i+1}</c>, so a tenth of the hubs carry a pattern
/// subscriber, but none matches the published topic. Setup therefore runs 10 million regex matches —
/// the work the bus does at subscribe time so that it never does it per publish.
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
[MinColumn]
public class TopicCountBenchmarks
{
    private const string Topic = "orders";

    private readonly CompositeDisposable _subscriptions = [];
    private EventBus _bus = null!;
    private Event _event = null!;
    private long _received;

    [GlobalSetup(Target = nameof(Publish10Topics))]
    public void SetupFewTopics() => Build(topics: 10, patterns: 0);

    [GlobalSetup(Target = nameof(Publish10000Topics1000Patterns))]
    public void SetupManyTopics() => Build(topics: 10_000, patterns: 1_000);

    [Benchmark(Baseline = true, Description = "Publish, 10 topics")]
    public void Publish10Topics() => _bus.Publish(_event);

    [Benchmark(Description = "Publish, 10,000 topics + 1,000 patterns")]
    public void Publish10000Topics1000Patterns() => _bus.Publish(_event);

    [GlobalCleanup]
    public void Cleanup()
    {
        _subscriptions.Dispose();
        _bus.Dispose();
    }

    private void Build(int topics, int patterns)
    {
        // The published topic plus topics - 1 others, registered before the patterns subscribe.
        var names = new string[topics];
        names[0] = Topic;
        for (var i = 1; i < topics; i++)
        {
            names[i] = TopicName(i);
        }

        _bus = new EventBus(new EventBusOptions { Topics = names });
        var expectedAttachments = 0;
        for (var i = 0; i < patterns; i++)
        {
            var target = (10 * i) + 1;
            expectedAttachments += target < topics ? 1 : 0;
            _subscriptions.Add(_bus.Match("^" + TopicName(target) + "$").Subscribe(e => _received++));
        }

        _subscriptions.Add(_bus.Topic(Topic).Subscribe(e => _received++));
        _event = _bus.CreateEvent(Topic, new OrderPlaced(42, 9.99m));

        // Same check on both buses: the patterns really attached where meant, and none to the published topic.
        var attached = _bus.Diagnostics.SubscriptionsPerTopic().Values.Sum() - 1;
        if (attached != expectedAttachments || _bus.Diagnostics.SubscriptionCount(Topic) != 1)
        {
            throw new InvalidOperationException(
                $"Expected {expectedAttachments} pattern attachments and 1 subscriber on '{Topic}', saw {attached} and " +
                $"{_bus.Diagnostics.SubscriptionCount(Topic)}.");
        }
    }

    private static string TopicName(int i) => "topic_" + i.ToString("D5", CultureInfo.InvariantCulture);
}
