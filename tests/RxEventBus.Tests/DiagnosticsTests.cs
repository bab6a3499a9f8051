using Microsoft.Reactive.Testing;
using RxEventBus.Tests.Support;

namespace RxEventBus.Tests;

// Subscribers() and Diagnostics: what a user hunting a leak, or a test ending, can see.
public sealed class DiagnosticsTests
{
    [Fact]
    public void Subscribers_EveryKind_ListsKindNamePatternsAndTopicsInSubscriptionOrder()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders", "purchase_made", "card_refund");
        var subscriptions = new[]
        {
            bus.Topic("orders").Subscribe(_ => { }),
            bus.Match("purchase_", ".*_refund$").Subscribe(_ => { }),
            bus.Tracked("auditor", ".*").Subscribe(_ => { }),
            bus.Match("^nothing_yet").Subscribe(_ => { }),
        };

        var subscribers = bus.Subscribers();

        subscribers.Select(s => s.Kind).Should().Equal(
            [SubscriptionKind.Topic, SubscriptionKind.Pattern, SubscriptionKind.Tracked, SubscriptionKind.Pattern],
            "because every live subscription is listed, in subscription order, with how it subscribed");
        subscribers.Select(s => s.Name).Should().Equal(
            [null, null, "auditor", null], "because only tracked subscribers have a name");
        subscribers[0].Patterns.Should().Equal(["orders"], "because a topic subscription's pattern is its topic name");
        subscribers[1].Patterns.Should().Equal(
            ["purchase_", ".*_refund$"], "because a pattern subscription lists its regexes as given, without the anchor the bus adds");
        subscribers[2].Patterns.Should().Equal([".*"]);
        subscribers[0].Topics.Should().Equal(["orders"]);
        subscribers[1].Topics.Should().Equal(
            ["card_refund", "purchase_made"], "because the topics it receives are listed in ordinal order");
        subscribers[2].Topics.Should().Equal(["card_refund", "orders", "purchase_made"], "because .* receives every topic");
        subscribers[3].Topics.Should().BeEmpty("because no registered topic matches ^nothing_yet");
        subscribers.Select(s => s.Id).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems("because ids follow subscription order");
        foreach (var subscription in subscriptions)
        {
            subscription.Dispose();
        }

        bus.Subscribers().Should().BeEmpty("because every subscription was disposed");
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void SubscribersOfTopic_MixedSubscriptions_ListsOnlyThoseReceivingIt()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders", "payments");
        var ordersTopic = bus.Topic("orders").Subscribe(_ => { });
        var paymentsTopic = bus.Topic("payments").Subscribe(_ => { });
        var ordersPattern = bus.Match("^ord").Subscribe(_ => { });

        var ofOrders = bus.Subscribers("orders");
        var ofPayments = bus.Subscribers("payments");

        ofOrders.Select(s => s.Kind).Should().Equal(
            [SubscriptionKind.Topic, SubscriptionKind.Pattern], "because the orders topic subscription and the ^ord pattern receive orders");
        ofPayments.Should().ContainSingle("because only the payments topic subscription receives payments")
            .Which.Kind.Should().Be(SubscriptionKind.Topic);
        ordersTopic.Dispose();
        paymentsTopic.Dispose();
        ordersPattern.Dispose();
        bus.Subscribers("orders").Should().BeEmpty("because disposed subscriptions are no longer listed");
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void SubscriptionCounts_SubscribeThenDispose_CountPerTopicAndGoBackToZero()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders", "payments", "audit");
        var subscriptions = new[]
        {
            bus.Topic("orders").Subscribe(_ => { }),
            bus.Topic("orders").Subscribe(_ => { }),
            bus.Topic("payments").Subscribe(_ => { }),
            bus.Match(".*s$").Subscribe(_ => { }),
        };

        bus.Diagnostics.LiveSubscriptions.Should().Be(4, "because four subscriptions are live");
        bus.Diagnostics.SubscriptionCount("orders").Should().Be(3, "because two topic subscriptions and the .*s$ pattern receive orders");
        bus.Diagnostics.SubscriptionsPerTopic().Should().BeEquivalentTo(
            new Dictionary<string, int> { ["orders"] = 3, ["payments"] = 2, ["audit"] = 0 },
            "because each registered topic is counted with the subscriptions it feeds");

        foreach (var subscription in subscriptions)
        {
            subscription.Dispose();
        }

        bus.Diagnostics.SubscriptionsPerTopic().Values.Should().OnlyContain(count => count == 0, "because every subscription was disposed");
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void SubscriptionCount_UnregisteredTopic_IsZero()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        using var subscription = bus.Match(".*").Subscribe(_ => { });

        bus.Diagnostics.SubscriptionCount("payments").Should().Be(0, "because nothing receives a topic that is not registered");
        bus.Diagnostics.SubscriptionCount("orders").Should().Be(1);
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void LiveSubscriptions_PatternMatchingNoTopicYet_IsCounted()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");

        var subscription = bus.Match("^later_").Subscribe(_ => { });

        bus.Diagnostics.LiveSubscriptions.Should().Be(1, "because a pattern waiting for its topics is still a live subscription");
        bus.Diagnostics.SubscriptionCount("orders").Should().Be(0);
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void PendingEvents_TrackedAndPlainSubscribers_CountsOnlyUnansweredTrackedEvents()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders", "payments");
        var answers = new List<TrackedEvent>();
        using var plain = bus.Match(".*").Subscribe(_ => { });
        using var tracked = bus.Tracked("auditor", "^orders$").Subscribe(answers.Add);

        bus.Publish("orders", 1);
        bus.Publish("orders", 2);
        bus.Publish("payments", 3);

        bus.Diagnostics.PendingEvents.Should().Be(2, "because only orders has a tracked subscriber, and it answered nothing yet");
        answers[0].MarkCompleted();
        bus.Diagnostics.PendingEvents.Should().Be(1, "because one of the two was answered");
        answers[1].MarkSkipped();
        bus.Diagnostics.PendingEvents.Should().Be(0, "because both were answered");
        plain.Dispose();
        tracked.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }
}
