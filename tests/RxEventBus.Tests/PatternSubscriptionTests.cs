using System.Reactive.Concurrency;
using Microsoft.Reactive.Testing;
using RxEventBus.Tests.Support;

namespace RxEventBus.Tests;

// Match(patterns): the seed's regex subscriptions. A pattern matches a topic when it is found anywhere in
// the name (Elixir's Regex.match?), and it follows topics registered after it subscribed.
public sealed class PatternSubscriptionTests : ReactiveTest
{
    [Fact]
    public void Match_DotStar_ReceivesEveryTopic()
    {
        string[] topics = ["orders", "purchase_completed", "x", "booking_confirmed"];

        var received = TopicsReceivedBy([".*"], topics);

        received.Should().Equal(topics, "because \".*\" matches every topic name");
    }

    [Fact]
    public void Match_PlainWord_ReceivesOnlyTopicsContainingIt()
    {
        var received = TopicsReceivedBy(
            ["purchase_"],
            ["purchase_completed", "order_purchase_refunded", "purchase", "purchases", "PURCHASE_done", "orders"]);

        received.Should().Equal(
            ["purchase_completed", "order_purchase_refunded"],
            "because an unanchored pattern matches wherever it is found in the name, and matching is case-sensitive");
    }

    [Fact]
    public void Match_EndAnchor_ReceivesOnlyTopicsEndingWithIt()
    {
        var received = TopicsReceivedBy(
            ["booking_confirmed$"],
            ["booking_confirmed", "hotel_booking_confirmed", "booking_confirmed_email", "booking_cancelled"]);

        received.Should().Equal(
            ["booking_confirmed", "hotel_booking_confirmed"], "because \"$\" anchors the pattern at the end of the name only");
    }

    [Fact]
    public void Match_SeveralPatterns_ReceivesTopicsMatchingAnyOnceEach()
    {
        var received = TopicsReceivedBy(
            ["^order", "s$", "orders"],
            ["orders", "order_shipped", "payments", "refund"]);

        received.Should().Equal(
            ["orders", "order_shipped", "payments"],
            "because a topic matching any pattern is received, once, however many patterns match it");
    }

    [Fact]
    public void Match_TopicRegisteredAfterSubscribing_ReceivesItsEvents()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders");
        var published = new Dictionary<long, Event>();
        scheduler.ScheduleAbsolute(300, () => bus.RegisterTopic("purchase_made"));
        scheduler.ScheduleAbsolute(310, () => bus.RegisterTopic("refund_made"));
        scheduler.ScheduleAbsolute(400, () => published[400] = bus.Publish("purchase_made", 1));
        scheduler.ScheduleAbsolute(410, () => published[410] = bus.Publish("refund_made", 2));

        var observer = scheduler.Start(() => bus.Match("purchase_"));

        observer.Messages.AssertEqual(OnNext(400, published[400]));
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Match_EventsBeforeAndAfterSubscribeAndDispose_DeliversOnlyThoseWhileSubscribed()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders", "payments");
        var published = new Dictionary<long, Event>();
        foreach (var (time, topic) in new (long, string)[] { (150, "orders"), (300, "orders"), (350, "payments"), (600, "payments") })
        {
            scheduler.ScheduleAbsolute(time, () => published[time] = bus.Publish(topic, (int)time));
        }

        var observer = scheduler.Start(() => bus.Match(".*"), created: 100, subscribed: 200, disposed: 500);

        observer.Messages.AssertEqual(
            OnNext(300, published[300]),
            OnNext(350, published[350]));
        bus.Diagnostics.LiveSubscriptions.Should().Be(0, "because the pattern subscription was disposed at 500");
    }

    [Fact]
    public void Match_MatchedTopicUnregisteredAndRegisteredAgain_KeepsRunningAndFollowsIt()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders", "payments");
        var published = new Dictionary<long, Event>();
        var topicsListed = new Dictionary<long, IReadOnlyList<string>>();
        scheduler.ScheduleAbsolute(300, () => bus.UnregisterTopic("orders"));
        scheduler.ScheduleAbsolute(350, () => topicsListed[350] = bus.Subscribers().Single().Topics);
        scheduler.ScheduleAbsolute(400, () => published[400] = bus.Publish("payments", 1));
        scheduler.ScheduleAbsolute(500, () => bus.RegisterTopic("orders"));
        scheduler.ScheduleAbsolute(550, () => topicsListed[550] = bus.Subscribers().Single().Topics);
        scheduler.ScheduleAbsolute(600, () => published[600] = bus.Publish("orders", 2));

        var observer = scheduler.Start(() => bus.Match(".*"));

        observer.Messages.AssertEqual(
            OnNext(400, published[400]),
            OnNext(600, published[600]));
        topicsListed[350].Should().Equal(["payments"], "because an unregistered topic is no longer received, and the listing says so");
        topicsListed[550].Should().Equal(["orders", "payments"], "because the pattern picked the topic up again when it came back");
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    // Registers the topics, subscribes with the patterns, publishes one event to each topic in order and
    // returns the topics of the events received, in order.
    private static List<string> TopicsReceivedBy(string[] patterns, string[] topics)
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, topics);
        var observer = scheduler.CreateObserver<Event>();

        using (bus.Match(patterns).Subscribe(observer))
        {
            foreach (var topic in topics)
            {
                bus.Publish(topic, topic.Length);
            }
        }

        bus.Diagnostics.LiveSubscriptions.Should().Be(0, "because the pattern subscription was disposed");
        observer.Messages.Should().OnlyContain(m => m.Value.Kind == System.Reactive.NotificationKind.OnNext);
        return [.. observer.Messages.Select(m => m.Value.Value.Topic)];
    }
}
