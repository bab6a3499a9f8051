using RxEventBus.Tests.Common;
using System.Reactive.Concurrency;
using Microsoft.Reactive.Testing;
using RxEventBus.Tests.Support;

namespace RxEventBus.Tests;

// Disposing the bus ends everything it hands out, the way a completed subject does.
public sealed class EventBusDisposeTests : ReactiveTest
{
    [Fact]
    public void Dispose_LiveSubscriptionsOfEveryKind_CompletesEachOfThemAndErrors()
    {
        var scheduler = new TestScheduler();
        var bus = TestBus.Create(scheduler, "orders");
        var topic = scheduler.CreateObserver<Event>();
        var typed = scheduler.CreateObserver<Event<int>>();
        var pattern = scheduler.CreateObserver<Event>();
        var tracked = scheduler.CreateObserver<TrackedEvent>();
        var errors = scheduler.CreateObserver<EventBusError>();
        var subscriptions = new[]
        {
            bus.Topic("orders").Subscribe(topic),
            bus.Topic<int>("orders").Subscribe(typed),
            bus.Match("never_registered").Subscribe(pattern),
            bus.Tracked("auditor", ".*").Subscribe(tracked),
            bus.Errors.Subscribe(errors),
        };
        scheduler.ScheduleAbsolute(700, bus.Dispose);

        scheduler.Start();

        topic.Messages.AssertEqual(OnCompleted<Event>(700));
        typed.Messages.AssertEqual(OnCompleted<Event<int>>(700));
        pattern.Messages.AssertEqual(OnCompleted<Event>(700));
        tracked.Messages.AssertEqual(OnCompleted<TrackedEvent>(700));
        errors.Messages.AssertEqual(OnCompleted<EventBusError>(700));
        bus.Diagnostics.LiveSubscriptions.Should().Be(0, "because a disposed bus holds no subscriptions");
        bus.Topics.Should().BeEmpty("because a disposed bus has no topics");
        foreach (var subscription in subscriptions)
        {
            subscription.Dispose();
        }
    }

    [Fact]
    public void Dispose_Twice_CompletesEachSubscriberOnlyOnce()
    {
        var bus = TestBus.Create(new TestScheduler(), "orders");
        var observer = new SynchronizationValidatingObserver<Event>(spinIterations: 0);
        using var subscription = bus.Topic("orders").Subscribe(observer);

        bus.Dispose();
        bus.Dispose();

        observer.Completions.Should().Be(1, "because OnCompleted is a terminal notification, sent once");
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public async Task Dispose_TrackedSubscriberBlockedInOnNext_ReturnsAtOnceAndCompletesItOnceTheOnNextEnds()
    {
        var bus = TestBus.Create(new TestScheduler(), "orders");
        using var observer = new GatedObserver<TrackedEvent>();
        using var subscription = bus.Tracked("persistence", ".*").Subscribe(observer);

        // A bounded consumer blocks its publisher inside OnNext when its buffer is full (ADR 0001); shutting
        // the bus down must not wait for that buffer to drain.
        await observer.EndWhileBlockedAsync(
            () => bus.Publish("orders", 1),
            bus.Dispose,
            () => bus.Invoking(b => b.Publish("orders", 2)).Should().Throw<ObjectDisposedException>("because the bus is disposed already"),
            TimeSpan.FromSeconds(10));

        observer.ShouldHaveCompletedOnceAfterItsOnNext("because the completion comes once, after the OnNext it waited for");
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Dispose_ObserverThrowsFromOnCompleted_ReportsItAndStillCompletesTheOthers()
    {
        var bus = TestBus.Create(new TestScheduler(), "orders");
        var errors = new List<EventBusError>();
        using var errorSubscription = bus.Errors.Subscribe(errors.Add);
        var boom = new InvalidOperationException("completion handler bug");
        var completed = new List<string>();
        using var faulty = bus.Topic("orders").Subscribe(_ => { }, () => throw boom);
        using var topic = bus.Topic("orders").Subscribe(_ => { }, () => completed.Add("topic"));
        using var pattern = bus.Match(".*").Subscribe(_ => { }, () => completed.Add("pattern"));

        var dispose = bus.Dispose;

        dispose.Should().NotThrow("because a subscriber's fault never reaches the caller, whichever thread sends its completion");
        completed.Should().Equal(["topic", "pattern"], "because one faulty observer must not cost the others their completion");
        var error = errors.Should().ContainSingle().Which;
        error.Origin.Should().Be(EventBusErrorOrigin.Subscriber);
        error.Exception.Should().BeSameAs(boom, "because the fault is reported like one thrown from OnNext");
        error.Event.Should().BeNull("because no event was being delivered");
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Subscribe_ObservableMadeBeforeDispose_CompletesAtOnce()
    {
        var scheduler = new TestScheduler();
        var bus = TestBus.Create(scheduler, "orders");
        var stream = bus.Topic("orders");
        var pattern = bus.Match(".*");
        bus.Dispose();
        scheduler.AdvanceTo(300);
        var topicObserver = scheduler.CreateObserver<Event>();
        var patternObserver = scheduler.CreateObserver<Event>();

        using (stream.Subscribe(topicObserver))
        using (pattern.Subscribe(patternObserver))
        {
            topicObserver.Messages.AssertEqual(OnCompleted<Event>(300));
            patternObserver.Messages.AssertEqual(OnCompleted<Event>(300));
        }

        bus.Diagnostics.LiveSubscriptions.Should().Be(0, "because nothing can subscribe to a disposed bus");
    }

    [Fact]
    public void Dispose_ThenPublishOrSubscribe_ThrowsObjectDisposed()
    {
        var bus = TestBus.Create(new TestScheduler(), "orders");

        bus.Dispose();

        bus.Invoking(b => b.Publish("orders", 1)).Should().Throw<ObjectDisposedException>("because a disposed bus publishes nothing");
        bus.Invoking(b => b.Topic("orders")).Should().Throw<ObjectDisposedException>();
        bus.Invoking(b => b.Match(".*")).Should().Throw<ObjectDisposedException>();
        bus.Invoking(b => b.Tracked("auditor", ".*")).Should().Throw<ObjectDisposedException>();
        bus.Invoking(b => b.RegisterTopic("payments")).Should().Throw<ObjectDisposedException>();
    }
}
