using System.Reactive.Concurrency;
using Microsoft.Reactive.Testing;
using RxEventBus.Tests.Support;

namespace RxEventBus.Tests;

// Publish, Publish<T> and CreateEvent: what an event gets stamped with, all from the bus's scheduler.
public sealed class EventBusPublishTests : ReactiveTest
{
    private static readonly DateTimeOffset Noon = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void PublishOfT_DataOnly_BuildsEventFromOptionsAndReturnsWhatWasDelivered()
    {
        var scheduler = new TestScheduler();
        using var bus = new EventBus(new EventBusOptions
        {
            Scheduler = scheduler,
            Topics = ["orders"],
            DefaultSource = "checkout",
            DefaultTtl = TimeSpan.FromDays(30),
        });
        var received = new List<Event>();
        using var subscription = bus.Topic("orders").Subscribe(received.Add);

        var published = bus.Publish("orders", "order #1");

        received.Should().ContainSingle().Which.Should().BeSameAs(published, "because Publish<T> returns the event it delivered");
        published.Topic.Should().Be("orders");
        published.Data.Should().Be("order #1");
        published.Id.Should().NotBe(Guid.Empty, "because the bus gives every event it builds an id");
        published.Source.Should().Be("checkout", "because the source defaults to EventBusOptions.DefaultSource");
        published.Ttl.Should().Be(TimeSpan.FromDays(30), "because the ttl defaults to EventBusOptions.DefaultTtl");
        published.TransactionId.Should().BeNull("because Publish<T> has no transaction to give");
        published.InitializedAt.Should().BeNull("because only EventSource times the producing code");
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void PublishOfT_AtVirtualTimes_OccurredAtIsSchedulerNow()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(Noon.UtcTicks);
        using var bus = TestBus.Create(scheduler, "orders");
        var published = new List<Event>();
        scheduler.ScheduleAbsolute(Noon.AddSeconds(10).UtcTicks, () => published.Add(bus.Publish("orders", 1)));
        scheduler.ScheduleAbsolute(Noon.AddMinutes(5).UtcTicks, () => published.Add(bus.Publish("orders", 2)));

        scheduler.Start();

        published.Select(e => e.OccurredAt).Should().Equal(
            [Noon.AddSeconds(10), Noon.AddMinutes(5)], "because the bus reads time only from its scheduler, never the wall clock");
    }

    [Fact]
    public void CreateEvent_VirtualTime_StampsSchedulerNowAndPublishesNothing()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(Noon.AddHours(3).UtcTicks);
        using var bus = TestBus.Create(scheduler, "orders");
        var received = new List<Event>();
        using var subscription = bus.Match(".*").Subscribe(received.Add);

        var @event = bus.CreateEvent("orders", 7);

        @event.OccurredAt.Should().Be(Noon.AddHours(3), "because CreateEvent stamps the scheduler's time");
        @event.Should().BeEquivalentTo(new { Topic = "orders", Data = 7 });
        received.Should().BeEmpty("because CreateEvent only builds the event");
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Publish_Subscribed_DeliversToEveryKindOfSubscriberOfTheTopic()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders", "payments");
        var topic = scheduler.CreateObserver<Event>();
        var typed = scheduler.CreateObserver<Event<int>>();
        var pattern = scheduler.CreateObserver<Event>();
        var tracked = scheduler.CreateObserver<TrackedEvent>();
        var subscriptions = new[]
        {
            bus.Topic("orders").Subscribe(topic),
            bus.Topic<int>("orders").Subscribe(typed),
            bus.Match("^ord").Subscribe(pattern),
            bus.Tracked("auditor", "orders").Subscribe(tracked),
        };
        scheduler.AdvanceTo(300);

        var published = bus.Publish("orders", 5);
        bus.Publish("payments", 6);

        topic.Messages.AssertEqual(OnNext(300, published));
        typed.Messages.AssertEqual(OnNext(300, published.As<int>()));
        pattern.Messages.AssertEqual(OnNext(300, published));
        tracked.Messages.Should().ContainSingle("because only the orders event is the auditor's")
            .Which.Value.Value.Event.Should().BeSameAs(published);
        foreach (var subscription in subscriptions)
        {
            subscription.Dispose();
        }

        bus.Diagnostics.LiveSubscriptions.Should().Be(0, "because every subscription was disposed");
    }
}
