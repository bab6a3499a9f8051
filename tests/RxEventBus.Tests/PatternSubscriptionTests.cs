using System.Reactive.Concurrency;
using Microsoft.Reactive.Testing;
using RxEventBus.Tests.Support;

namespace RxEventBus.Tests;

// Match(patterns): the seed's regex subscriptions. A pattern matches a topic when it matches at the start of
// the name (event_bus compiles each pattern as ^(pattern)), and it follows topics registered after it subscribed.
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
    public void Match_PlainWord_ReceivesOnlyTopicsStartingWithIt()
    {
        var received = TopicsReceivedBy(
            ["user_"],
            ["user_created", "user_deleted", "admin_user_created", "user", "users", "USER_renamed", "orders"]);

        received.Should().Equal(
            ["user_created", "user_deleted"],
            "because a pattern matches at the start of the name, as event_bus's ^(pattern) does, and matching is case-sensitive");
    }

    [Fact]
    public void Match_WordFoundOnlyInsideTheName_DoesNotMatch()
    {
        var received = TopicsReceivedBy(["received"], ["metrics_received", "payment_received", "received", "received_late"]);

        received.Should().Equal(
            ["received", "received_late"], "because \"received\" must start the name: metrics_received does not match it");
    }

    [Fact]
    public void Match_EndAnchor_ReceivesOnlyTheTopicItSpells()
    {
        var received = TopicsReceivedBy(
            ["booking_confirmed$"],
            ["booking_confirmed", "hotel_booking_confirmed", "booking_confirmed_email", "booking_cancelled"]);

        received.Should().Equal(
            ["booking_confirmed"], "because a pattern anchored at both ends by ^(…) and $ spells out one whole name");
    }

    [Fact]
    public void Match_AlternationInOnePattern_IsAnchoredAsAWhole()
    {
        var received = TopicsReceivedBy(["a|b"], ["a_topic", "b_topic", "x_b", "x_a", "c"]);

        received.Should().Equal(
            ["a_topic", "b_topic"], "because the whole alternation is anchored (^(?:a|b)), not only its first branch (^a|b)");
    }

    [Fact]
    public void Match_SeveralPatterns_EachIsAnchoredSeparatelyAndATopicIsReceivedOnce()
    {
        var received = TopicsReceivedBy(
            ["orders", "x|payments", "order"],
            ["orders", "payments", "x_ray", "refund_orders", "late_payments", "y_x", "order_shipped"]);

        received.Should().Equal(
            ["orders", "payments", "x_ray", "order_shipped"],
            "because each pattern is anchored at the start on its own, and a topic matching several patterns is received once");
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
