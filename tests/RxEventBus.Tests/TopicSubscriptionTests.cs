using System.Reactive.Concurrency;
using Microsoft.Reactive.Testing;
using RxEventBus.Tests.Support;

namespace RxEventBus.Tests;

// Topic(name) and Topic<T>(name): the hot stream of one topic.
public sealed class TopicSubscriptionTests : ReactiveTest
{
    [Fact]
    public void Topic_EventsBeforeDuringAndAfterSubscription_DeliversOnlyThoseWhileSubscribed()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders");
        var published = new Dictionary<long, Event>();
        foreach (var time in new long[] { 150, 300, 400, 1100 })
        {
            scheduler.ScheduleAbsolute(time, () => published[time] = bus.Publish("orders", (int)time));
        }

        // Created at 100, subscribed at 200, disposed at 1000.
        var observer = scheduler.Start(() => bus.Topic("orders"));

        published.Keys.Should().BeEquivalentTo([150L, 300L, 400L, 1100L], "because every publish ran");
        observer.Messages.AssertEqual(
            OnNext(300, published[300]),
            OnNext(400, published[400]));
        bus.Diagnostics.LiveSubscriptions.Should().Be(0, "because the subscription was disposed at 1000");
    }

    [Fact]
    public void Topic_DisposedMidway_StopsReceivingAndLeavesTheTopic()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders");
        var published = new Dictionary<long, Event>();
        var countWhileSubscribed = -1;
        foreach (var time in new long[] { 300, 600 })
        {
            scheduler.ScheduleAbsolute(time, () => published[time] = bus.Publish("orders", (int)time));
        }

        scheduler.ScheduleAbsolute(450, () => countWhileSubscribed = bus.Diagnostics.SubscriptionCount("orders"));

        var observer = scheduler.Start(() => bus.Topic("orders"), created: 100, subscribed: 200, disposed: 500);

        observer.Messages.AssertEqual(OnNext(300, published[300]));
        countWhileSubscribed.Should().Be(1, "because the subscription was live at 450");
        bus.Diagnostics.SubscriptionCount("orders").Should().Be(0, "because Dispose unsubscribed it at 500");
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Topic_TwoSubscribers_EachReceivesEveryEvent()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders");
        var first = scheduler.CreateObserver<Event>();
        var second = scheduler.CreateObserver<Event>();
        var subscriptions = new[] { bus.Topic("orders").Subscribe(first), bus.Topic("orders").Subscribe(second) };
        scheduler.AdvanceTo(250);

        var published = bus.Publish("orders", 1);

        first.Messages.AssertEqual(OnNext(250, published));
        second.Messages.AssertEqual(OnNext(250, published));
        foreach (var subscription in subscriptions)
        {
            subscription.Dispose();
        }

        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void TopicOfT_PayloadOfThatType_DeliversTypedView()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders");
        Event? published = null;
        scheduler.ScheduleAbsolute(300, () => published = bus.Publish("orders", new Order("A-1", 2)));

        var observer = scheduler.Start(() => bus.Topic<Order>("orders"));

        observer.Messages.AssertEqual(OnNext(300, published!.As<Order>()));
        observer.Messages[0].Value.Value.Data.Quantity.Should().Be(2, "because the payload arrives typed, no cast needed");
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void TopicOfT_PayloadOfAnotherType_SkipsItReportsItAndGoesOn()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders");
        var errors = new List<EventBusError>();
        using var errorSubscription = bus.Errors.Subscribe(errors.Add);
        var published = new Dictionary<long, Event>();
        scheduler.ScheduleAbsolute(300, () => published[300] = bus.Publish("orders", "not an order"));
        scheduler.ScheduleAbsolute(400, () => published[400] = bus.Publish("orders", new Order("A-2", 1)));

        var observer = scheduler.Start(() => bus.Topic<Order>("orders"));

        observer.Messages.AssertEqual(OnNext(400, published[400].As<Order>()));
        var error = errors.Should().ContainSingle("because the misfit payload is reported once").Which;
        error.Origin.Should().Be(EventBusErrorOrigin.Subscriber);
        error.Event.Should().BeSameAs(published[300], "because the error names the event that did not fit");
        error.Exception.Should().BeOfType<InvalidCastException>();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void UnregisterTopic_TopicSubscriber_CompletesItWhilePatternSubscriberKeepsOtherTopics()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders", "payments");
        var topicObserver = scheduler.CreateObserver<Event>();
        var patternObserver = scheduler.CreateObserver<Event>();
        var topicSubscription = bus.Topic("orders").Subscribe(topicObserver);
        var patternSubscription = bus.Match(".*").Subscribe(patternObserver);
        var published = new Dictionary<long, Event>();
        scheduler.ScheduleAbsolute(300, () => published[300] = bus.Publish("orders", 1));
        scheduler.ScheduleAbsolute(400, () => bus.UnregisterTopic("orders"));
        scheduler.ScheduleAbsolute(500, () => published[500] = bus.Publish("payments", 2));

        scheduler.Start();

        topicObserver.Messages.AssertEqual(
            OnNext(300, published[300]),
            OnCompleted<Event>(400));
        patternObserver.Messages.AssertEqual(
            OnNext(300, published[300]),
            OnNext(500, published[500]));
        bus.Diagnostics.LiveSubscriptions.Should().Be(1, "because the completed topic subscription is gone and the pattern one lives on");
        topicSubscription.Dispose();
        patternSubscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public async Task UnregisterTopic_TopicSubscriberBlockedInOnNext_ReturnsAtOnceAndCompletesItOnceTheOnNextEnds()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        using var blocked = new GatedObserver<Event>();
        using var next = new GatedObserver<Event>(open: true);
        var blockedSubscription = bus.Topic("orders").Subscribe(blocked);
        var nextSubscription = bus.Topic("orders").Subscribe(next);

        await blocked.EndWhileBlockedAsync(
            () => bus.Publish("orders", 1),
            () => bus.UnregisterTopic("orders"),
            unregistered =>
            {
                unregistered.Should().BeTrue();
                bus.TopicExists("orders").Should().BeFalse("because UnregisterTopic did its work without waiting for the blocked subscriber");
            },
            TimeSpan.FromSeconds(10));

        blocked.ShouldHaveCompletedOnceAfterItsOnNext("because the publisher sends the completion once it leaves the topic");
        next.ShouldHaveCompletedOnceAfterItsOnNext("because a subscriber the publisher had still to serve gets the event, then the completion");
        blockedSubscription.Dispose();
        nextSubscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Topic_TopicUnregisteredBeforeSubscribe_EndsWithTopicNotRegistered()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders");
        var stream = bus.Topic("orders");
        bus.UnregisterTopic("orders");
        var observer = scheduler.CreateObserver<Event>();

        using (stream.Subscribe(observer))
        {
            observer.Messages.Should().ContainSingle().Which.Value.Exception.Should().BeOfType<TopicNotRegisteredException>(
                "because Rx reports a subscription that cannot be made as OnError");
        }

        bus.Diagnostics.LiveSubscriptions.Should().Be(0, "because the failed subscription was never kept");
    }

    public sealed record Order(string Number, int Quantity);
}
