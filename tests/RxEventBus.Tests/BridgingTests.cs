using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using Microsoft.Reactive.Testing;
using RxEventBus.Tests.Support;

namespace RxEventBus.Tests;

// Attach: bringing outside streams (UI events, other observables) onto the bus.
public sealed class BridgingTests : ReactiveTest
{
    [Fact]
    public void Attach_HotSource_PublishesEachItemWhileAttachedStampedInVirtualTime()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "clicks");
        var source = scheduler.CreateHotObservable(
            OnNext(150, "before"),
            OnNext(250, "first"),
            OnNext(350, "second"),
            OnNext(650, "after"));
        var received = scheduler.CreateObserver<Event>();
        using var subscription = bus.Topic("clicks").Subscribe(received);
        IDisposable? attachment = null;
        scheduler.ScheduleAbsolute(200, () => attachment = bus.Attach("clicks", source));
        scheduler.ScheduleAbsolute(500, () => attachment!.Dispose());

        scheduler.Start();

        source.Subscriptions.AssertEqual(Subscribe(200, 500));
        received.Messages.Select(m => (m.Time, m.Value.Value.Data, m.Value.Value.OccurredAt)).Should().Equal(
            [(250L, "first", new DateTimeOffset(250, TimeSpan.Zero)), (350L, "second", new DateTimeOffset(350, TimeSpan.Zero))],
            "because each item the source emits while attached becomes the data of an event stamped with the bus's clock");
        received.Messages.Should().OnlyContain(m => m.Value.Value.Topic == "clicks");
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Attach_ButtonClickFromEventPattern_PublishesClicksUntilDetached()
    {
        using var bus = TestBus.Create(new TestScheduler(), "ui_click");
        var button = new FakeButton();
        var clicks = Observable.FromEventPattern<ClickEventArgs>(h => button.Click += h, h => button.Click -= h)
            .Select(pattern => pattern.EventArgs);
        var received = new List<Event>();
        using var subscription = bus.Topic("ui_click").Subscribe(received.Add);
        var attachment = bus.Attach("ui_click", clicks);

        button.PerformClick(10, 20);
        button.PerformClick(30, 40);
        attachment.Dispose();
        button.PerformClick(50, 60);

        received.Select(e => e.Data).Cast<ClickEventArgs>().Select(c => (c.X, c.Y)).Should().Equal(
            [(10, 20), (30, 40)], "because each click while attached is published, and none after detaching");
        button.HasClickHandlers.Should().BeFalse("because detaching removes the bridge's handler from the button");
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Attach_SourceFails_ReportsOnErrorsAndNeverThrows()
    {
        using var bus = TestBus.Create(new TestScheduler(), "clicks");
        var errors = new List<EventBusError>();
        using var errorSubscription = bus.Errors.Subscribe(errors.Add);
        using var source = new Subject<string>();
        using var attachment = bus.Attach("clicks", source);
        var boom = new InvalidOperationException("device unplugged");

        var fail = () => source.OnError(boom);

        fail.Should().NotThrow("because a failing source is the bus's to report, not to throw back into the source");
        var error = errors.Should().ContainSingle().Which;
        error.Origin.Should().Be(EventBusErrorOrigin.AttachedSource, "because the fault came from an attached source");
        error.Exception.Should().BeSameAs(boom);
        error.Event.Should().BeNull("because no event was being published");
        bus.ShouldStillDeliver("clicks");
    }

    [Fact]
    public void Attach_PublishOfAnItemFails_ReportsItAndKeepsTheSourceRunning()
    {
        using var bus = TestBus.Create(new TestScheduler(), "clicks");
        var errors = new List<EventBusError>();
        using var errorSubscription = bus.Errors.Subscribe(errors.Add);
        using var source = new Subject<string>();
        using var attachment = bus.Attach("clicks", source);
        var otherObserverOfSource = new List<string>();
        using var other = source.Subscribe(otherObserverOfSource.Add);
        bus.UnregisterTopic("clicks");

        source.OnNext("lost");
        bus.RegisterTopic("clicks");
        var received = new List<Event>();
        using var subscription = bus.Topic("clicks").Subscribe(received.Add);
        source.OnNext("delivered");

        var error = errors.Should().ContainSingle("because the publish failed once, while the topic was gone").Which;
        error.Origin.Should().Be(EventBusErrorOrigin.AttachedSource);
        error.Exception.Should().BeOfType<TopicNotRegisteredException>();
        error.Event!.Data.Should().Be("lost", "because the report carries the event that could not be published");
        otherObserverOfSource.Should().Equal(["lost", "delivered"], "because a publish failure is never thrown into someone else's observable");
        received.Should().ContainSingle("because the attachment survived the failure").Which.Data.Should().Be("delivered");
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Attach_SourceOfEvents_PublishesEachAsIsToItsOwnTopic()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders", "payments");
        using var source = new Subject<Event>();
        var received = new List<Event>();
        using var subscription = bus.Match(".*").Subscribe(received.Add);
        var order = new Event { Id = Guid.NewGuid(), Topic = "orders", Data = 1, Source = "legacy" };
        var payment = new Event { Id = Guid.NewGuid(), Topic = "payments", Data = 2 };
        var attachment = bus.Attach(source);

        source.OnNext(order);
        source.OnNext(payment);
        attachment.Dispose();
        source.OnNext(order with { Id = Guid.NewGuid() });

        received.Should().Equal([order, payment], "because ready-made events are published unchanged, to their own topics, until detached");
        received[0].Should().BeSameAs(order);
        subscription.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Attach_UnregisteredTopic_ThrowsTopicNotRegistered()
    {
        using var bus = TestBus.Create(new TestScheduler(), "clicks");
        using var source = new Subject<string>();

        var act = () => bus.Attach("klicks", source);

        act.Should().Throw<TopicNotRegisteredException>("because attaching to a typo must fail at once, not on the first item")
            .Which.Topic.Should().Be("klicks");
        source.HasObservers.Should().BeFalse("because a refused attachment does not subscribe to the source");
        bus.ShouldStillDeliver("clicks");
    }
}
