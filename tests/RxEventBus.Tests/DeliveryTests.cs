using RxEventBus.Tests.Common;
using System.Collections.Concurrent;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using RxEventBus.Tests.Support;

namespace RxEventBus.Tests;

// How events reach subscribers: in publish order, never two at once per observer, past subscribers that
// throw, and on the scheduler or context a subscriber asks for.
public sealed class DeliveryTests : ReactiveTest
{
    private const int PublisherThreads = 8;
    private const int EventsPerThread = 1_000;
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    [Fact]
    public void Publish_OneThread_EachSubscriberSeesTheTopicsPublishOrder()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders");
        var published = new List<Event>();
        for (var i = 1; i <= 5; i++)
        {
            var value = i;
            scheduler.ScheduleAbsolute(200 + (10 * i), () => published.Add(bus.Publish("orders", value)));
        }

        var topic = scheduler.CreateObserver<Event>();
        var pattern = scheduler.CreateObserver<Event>();
        var subscriptions = new[] { bus.Topic("orders").Subscribe(topic), bus.Match(".*").Subscribe(pattern) };

        scheduler.Start();

        var expected = published.Select((e, i) => OnNext(210 + (10 * i), e)).ToArray();
        topic.Messages.AssertEqual(expected);
        pattern.Messages.AssertEqual(expected);
        foreach (var subscription in subscriptions)
        {
            subscription.Dispose();
        }

        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public async Task Publish_EightThreadsOnOneTopic_NoOverlappingOnNextAndEveryEventInPublisherOrder()
    {
        using var bus = TestBus.Create(new TestScheduler(), "ticks");
        var errors = new ConcurrentQueue<EventBusError>();
        using var errorSubscription = bus.Errors.Subscribe(errors.Enqueue);
        var first = new SynchronizationValidatingObserver<Event>();
        var second = new SynchronizationValidatingObserver<Event>();
        var firstSubscription = bus.Topic("ticks").Subscribe(first);
        var secondSubscription = bus.Topic("ticks").Subscribe(second);

        await PublishConcurrently(thread =>
        {
            for (var sequence = 0; sequence < EventsPerThread; sequence++)
            {
                bus.Publish("ticks", new Tick(thread, sequence));
            }
        });

        foreach (var observer in new[] { first, second })
        {
            observer.Overlaps.Should().Be(0, "because the Rx contract forbids two OnNext calls to one observer at once");
            observer.Items.Should().HaveCount(PublisherThreads * EventsPerThread, "because every event is delivered exactly once");
            ShouldKeepEachPublishersOrder(observer.Items);
        }

        second.Items.Select(e => e.Id).Should().Equal(
            first.Items.Select(e => e.Id), "because every observer of a topic sees its events in the one order the publishers took");
        errors.Should().BeEmpty("because no subscriber failed");
        firstSubscription.Dispose();
        secondSubscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public async Task Publish_EightThreadsOnSeveralTopics_PatternSubscriberNeverGetsOverlappingOnNext()
    {
        var topics = Enumerable.Range(0, PublisherThreads).Select(i => $"load_{i}").ToArray();
        using var bus = TestBus.Create(new TestScheduler(), topics);
        var errors = new ConcurrentQueue<EventBusError>();
        using var errorSubscription = bus.Errors.Subscribe(errors.Enqueue);
        var pattern = new SynchronizationValidatingObserver<Event>();
        var perTopic = topics.ToDictionary(t => t, _ => new SynchronizationValidatingObserver<Event>());
        var subscriptions = perTopic.Select(pair => bus.Topic(pair.Key).Subscribe(pair.Value)).Append(bus.Match("^load_").Subscribe(pattern)).ToList();

        await PublishConcurrently(thread =>
        {
            // Each thread walks the topics, so every topic has several publishers and the pattern
            // subscriber is fed by eight hubs at once.
            for (var sequence = 0; sequence < EventsPerThread; sequence++)
            {
                bus.Publish(topics[(thread + sequence) % topics.Length], new Tick(thread, sequence));
            }
        });

        pattern.Overlaps.Should().Be(0, "because a pattern subscriber spans hubs, and still must never get two OnNext calls at once");
        pattern.Items.Should().HaveCount(PublisherThreads * EventsPerThread, "because it receives every topic it matches, each event once");
        ShouldKeepEachPublishersOrder(pattern.Items);
        foreach (var (topic, observer) in perTopic)
        {
            observer.Overlaps.Should().Be(0, "because a topic subscriber's calls are serialized too");
            observer.Items.Should().HaveCount(EventsPerThread, "because each thread published an eighth of its events to {0}", topic);
            observer.Items.Should().OnlyContain(e => e.Topic == topic);
            ShouldKeepEachPublishersOrder(observer.Items);
        }

        errors.Should().BeEmpty("because no subscriber failed");
        subscriptions.ForEach(s => s.Dispose());
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Publish_SubscriberThrows_PublisherAndOtherSubscribersUnaffectedAndItKeepsReceiving()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders");
        var errors = new List<EventBusError>();
        using var errorSubscription = bus.Errors.Subscribe(errors.Add);
        var boom = new InvalidOperationException("handler bug");
        var seenByThrower = new List<int>();
        var pattern = scheduler.CreateObserver<Event>();
        var topic = scheduler.CreateObserver<Event>();
        // Subscribed first, so it is called before the others and would cut them off if its fault escaped.
        var thrower = bus.Topic("orders").Subscribe(e =>
        {
            seenByThrower.Add((int)e.Data);
            if ((int)e.Data == 2)
            {
                throw boom;
            }
        });
        var subscriptions = new[] { thrower, bus.Match(".*").Subscribe(pattern), bus.Topic("orders").Subscribe(topic) };
        var throwerInfo = bus.Subscribers()[0];

        var published = new List<Event> { bus.Publish("orders", 1) };
        var publishTwo = () => published.Add(bus.Publish("orders", 2));
        publishTwo.Should().NotThrow("because a subscriber's failure never reaches the publisher");
        published.Add(bus.Publish("orders", 3));

        topic.Messages.AssertEqual(published.Select(e => OnNext(0, e)));
        pattern.Messages.AssertEqual(published.Select(e => OnNext(0, e)));
        seenByThrower.Should().Equal([1, 2, 3], "because a subscriber that threw goes on receiving later events");
        var error = errors.Should().ContainSingle("because the fault is reported once, on Errors").Which;
        error.Origin.Should().Be(EventBusErrorOrigin.Subscriber);
        error.Event.Should().BeSameAs(published[1], "because the report carries the event being delivered");
        error.Exception.Should().BeSameAs(boom, "because the report carries what the subscriber threw");
        error.Subscriber.Should().BeEquivalentTo(throwerInfo, "because the report says which subscriber failed");
        foreach (var subscription in subscriptions)
        {
            subscription.Dispose();
        }

        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Publish_PatternSubscriberThrows_ReportedWithItsKind()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        var errors = new List<EventBusError>();
        using var errorSubscription = bus.Errors.Subscribe(errors.Add);
        var subscription = bus.Match("ord").Subscribe(_ => throw new InvalidOperationException("pattern handler bug"));

        var published = bus.Publish("orders", 1);

        errors.Should().ContainSingle().Which.Should().Match<EventBusError>(
            e => e.Origin == EventBusErrorOrigin.Subscriber && e.Subscriber!.Kind == SubscriptionKind.Pattern && e.Event == published,
            "because pattern subscribers are shielded and reported the same way as topic subscribers");
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Publish_SubscriberRejectsEvent_PublisherGetsRejectionAfterOtherSubscribersGotTheEvent()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        var errors = new List<EventBusError>();
        using var errorSubscription = bus.Errors.Subscribe(errors.Add);
        var rejection = new EventRejectedException("buffer full");
        var rejecter = bus.Topic("orders").Subscribe(e =>
        {
            if ((int)e.Data == 1)
            {
                throw rejection;
            }
        });
        var received = new List<Event>();
        var later = bus.Topic("orders").Subscribe(received.Add);
        var laterPattern = bus.Match(".*").Subscribe(received.Add);

        var act = () => bus.Publish("orders", 1);

        act.Should().Throw<EventRejectedException>("because a deliberate refusal must reach the publisher")
            .Which.Should().BeSameAs(rejection);
        received.Should().HaveCount(2, "because the subscribers after the one that refused still got the event first")
            .And.OnlyContain(e => (int)e.Data == 1);
        errors.Should().BeEmpty("because a refusal is the publisher's to handle, not a fault to report");
        var next = bus.Publish("orders", 2);
        received.Should().HaveCount(4, "because the bus keeps delivering after a refusal").And.Contain(next);
        rejecter.Dispose();
        later.Dispose();
        laterPattern.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void ObserveOn_Scheduler_NothingDeliveredUntilTheSchedulerRuns()
    {
        var clock = new TestScheduler();
        var delivery = new TestScheduler();
        using var bus = TestBus.Create(clock, "orders");
        var observer = delivery.CreateObserver<Event>();
        var subscription = bus.Topic("orders").ObserveOn(delivery).Subscribe(observer);

        var first = bus.Publish("orders", 1);
        var second = bus.Publish("orders", 2);

        observer.Messages.Should().BeEmpty("because ObserveOn hands each event to the scheduler, which has not run yet");
        delivery.Start();
        observer.Messages.Select(m => m.Value.Value).Should().Equal(
            [first, second], "because once the scheduler runs, it delivers the events in publish order");
        observer.Messages.Should().OnlyContain(m => m.Time > 0, "because delivery happened when the scheduler ran, not at publish");
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void ObserveOn_SynchronizationContext_DeliveredOnlyWhenTheContextRunsAndOnIt()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        var ui = new RecordingSynchronizationContext();
        var received = new List<(Event Event, SynchronizationContext? Context)>();
        var subscription = bus.Topic("orders").ObserveOn(ui).Subscribe(e => received.Add((e, SynchronizationContext.Current)));

        var first = bus.Publish("orders", 1);
        var second = bus.Publish("orders", 2);

        received.Should().BeEmpty("because the events wait in the context's queue until its loop runs");
        ui.Queued.Should().Be(2, "because each event was posted to the context");
        ui.RunPending().Should().Be(2);
        received.Select(r => r.Event).Should().Equal([first, second], "because the context runs them in publish order");
        received.Should().OnlyContain(r => r.Context == ui, "because the handler ran on the context it asked for");
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    // Starts the publishers together on dedicated threads (not pool threads, which a 2-core machine
    // hands out slowly) and waits for all of them, with a guard against a hang.
    private static async Task PublishConcurrently(Action<int> publish)
    {
        using var start = new Barrier(PublisherThreads);
        var publishers = Enumerable.Range(0, PublisherThreads)
            .Select(thread => Task.Factory.StartNew(
                () =>
                {
                    start.SignalAndWait();
                    publish(thread);
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default))
            .ToArray();
        await Task.WhenAll(publishers).WaitAsync(HangGuard);
    }

    // A publisher's events follow each other (each Publish returns before the next), so every observer
    // must see each publisher's sequence numbers in ascending order, with none missing.
    private static void ShouldKeepEachPublishersOrder(IReadOnlyList<Event> received)
    {
        foreach (var byPublisher in received.Select(e => (Tick)e.Data).GroupBy(t => t.Thread))
        {
            var sequences = byPublisher.Select(t => t.Sequence).ToList();
            sequences.Should().BeInAscendingOrder("because publisher {0}'s events must arrive in the order it published them", byPublisher.Key);
            sequences.Should().OnlyHaveUniqueItems();
        }
    }

    private sealed record Tick(int Thread, int Sequence);
}
