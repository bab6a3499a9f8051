using System.Runtime.CompilerServices;
using Microsoft.Reactive.Testing;
using RxEventBus.Tests.Support;

namespace RxEventBus.Tests;

// Topics are registered by name before use (the seed's EventBus.register_topic), unless the bus is told
// to register them on first use.
public sealed class TopicRegistrationTests
{
    [Fact]
    public void Publish_TopicJustPublishedToThenUnregisteredAndRegisteredAgain_NeverUsesTheOldTopic()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        var old = new List<Event>();
        using var oldSubscription = bus.Topic("orders").Subscribe(old.Add);
        bus.Publish("orders", 1);

        bus.UnregisterTopic("orders");
        var afterUnregister = () => bus.Publish("orders", 2);
        afterUnregister.Should().Throw<TopicNotRegisteredException>("the last topic published to is unregistered, however fast Publish remembers it");

        bus.RegisterTopic("orders");
        var fresh = new List<Event>();
        using var freshSubscription = bus.Topic("orders").Subscribe(fresh.Add);
        bus.Publish("orders", 3);

        old.Select(e => e.Data).Should().Equal([1], "the old topic's subscriber got only what was published before it was unregistered");
        fresh.Select(e => e.Data).Should().Equal([3], "the re-registered topic is a new one");
    }

    [Fact]
    public void RegisterTopic_SameNameTwice_ReturnsTrueThenFalseAndListsItOnce()
    {
        using var bus = TestBus.Create(new TestScheduler());

        var first = bus.RegisterTopic("orders");
        var second = bus.RegisterTopic("orders");

        first.Should().BeTrue("because the topic was new");
        second.Should().BeFalse("because registering is idempotent and says the topic was already there");
        bus.Topics.Should().Equal(["orders"], "because a topic is listed once however often it is registered");
        bus.TopicExists("orders").Should().BeTrue();
        bus.ShouldStillDeliver("orders");
    }

    [Fact]
    public void RegisterTopic_AlreadyRegistered_KeepsItsSubscribers()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        var received = new List<Event>();
        using var subscription = bus.Topic("orders").Subscribe(received.Add);

        bus.RegisterTopic("orders");
        var published = bus.Publish("orders", 1);

        received.Should().Equal([published], "because registering an existing topic must not replace its hub and drop subscribers");
    }

    [Fact]
    public void UnregisterTopic_Registered_RemovesItAndReturnsTrueThenFalse()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders", "payments");

        var first = bus.UnregisterTopic("orders");
        var second = bus.UnregisterTopic("orders");

        first.Should().BeTrue("because the topic was registered");
        second.Should().BeFalse("because it is already gone");
        bus.TopicExists("orders").Should().BeFalse();
        bus.Topics.Should().Equal(["payments"], "because only the other topic is left");
        bus.Invoking(b => b.Publish("orders", 1)).Should().Throw<TopicNotRegisteredException>(
            "because publishing to an unregistered topic fails again");
        bus.ShouldStillDeliver("payments");
    }

    [Fact]
    public void UnregisterTopic_ItsTrackedEventsAnswered_BusKeepsNothingOfTheTopic()
    {
        using var bus = TestBus.Create(new TestScheduler());
        using var tracked = bus.Tracked("auditor", ".*").Subscribe(e => e.MarkCompleted());

        var name = UseATopicThenUnregisterIt(bus);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        name.IsAlive.Should().BeFalse(
            "because once a topic is unregistered and its tracked events answered, nothing of it may stay in the bus: " +
            "neither a per-topic store of pending events nor the hub Publish last used");
        bus.Diagnostics.LiveSubscriptions.Should().Be(1, "because the bus and its tracked subscriber lived on throughout");
    }

    // Not inlined, so that no local of the test method holds the name: when this returns, only the weak
    // reference and whatever the bus kept still point at it. The name is built at run time, never interned.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference UseATopicThenUnregisterIt(EventBus bus)
    {
        var topic = string.Concat("short_lived_", Guid.NewGuid().ToString("N"));
        bus.RegisterTopic(topic);
        bus.Publish(topic, 1);
        bus.UnregisterTopic(topic);
        return new WeakReference(topic);
    }

    [Fact]
    public void UnregisterTopic_ThenRegisterAgain_TopicWorksAgain()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");

        bus.UnregisterTopic("orders");
        var registered = bus.RegisterTopic("orders");

        registered.Should().BeTrue("because the topic was gone and is new again");
        bus.ShouldStillDeliver("orders");
    }

    [Fact]
    public void TopicExists_RegisteredAndNotRegistered_TellsThemApart()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");

        bus.TopicExists("orders").Should().BeTrue("because it was registered at construction");
        bus.TopicExists("Orders").Should().BeFalse("because topic names are case-sensitive");
        bus.TopicExists("payments").Should().BeFalse("because it was never registered");
    }

    [Fact]
    public void Topics_RegisteredInAnyOrder_ListedInOrdinalOrder()
    {
        using var bus = TestBus.Create(new TestScheduler());
        foreach (var topic in new[] { "b", "ä", "a", "_x", "B" })
        {
            bus.RegisterTopic(topic);
        }

        bus.Topics.Should().Equal(
            ["B", "_x", "a", "b", "ä"], "because topics are sorted by ordinal (code unit) order, never by culture");
    }

    [Fact]
    public void Constructor_TopicsInOptions_RegistersEachOfThem()
    {
        using var bus = new EventBus(new EventBusOptions
        {
            Scheduler = new TestScheduler(),
            Topics = ["payments", "orders"],
        });

        bus.Topics.Should().Equal(["orders", "payments"], "because EventBusOptions.Topics are registered when the bus is built");
        bus.ShouldStillDeliver("orders");
        bus.ShouldStillDeliver("payments");
    }

    [Fact]
    public void Publish_UnregisteredTopic_ThrowsTopicNotRegisteredNamingTheTopicAndHowToRegister()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");

        var act = () => bus.Publish("payments", 1);

        var thrown = act.Should().Throw<TopicNotRegisteredException>("because an unregistered topic is usually a typo").Which;
        thrown.Topic.Should().Be("payments", "because the exception says which topic was missing");
        thrown.Message.Should().Contain("'payments'", "because the message names the topic")
            .And.Contain("RegisterTopic", "because the message says how to register it")
            .And.Contain("AutoRegisterTopics", "because the message says how to have topics registered on first use");
        bus.TopicExists("payments").Should().BeFalse("because a failed publish registers nothing");
        bus.ShouldStillDeliver("orders");
    }

    [Fact]
    public void Topic_UnregisteredTopic_ThrowsTopicNotRegistered()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");

        var act = () => bus.Topic("payments");

        act.Should().Throw<TopicNotRegisteredException>("because subscribing to a typo must fail as loudly as publishing to one")
            .Which.Topic.Should().Be("payments");
        bus.ShouldStillDeliver("orders");
    }

    [Fact]
    public void Publish_UnregisteredTopicWithAutoRegister_RegistersItAndDelivers()
    {
        using var bus = new EventBus(new EventBusOptions { Scheduler = new TestScheduler(), AutoRegisterTopics = true });
        var received = new List<Event>();
        using var everything = bus.Match(".*").Subscribe(received.Add);

        var published = bus.Publish("payments", 1);

        bus.TopicExists("payments").Should().BeTrue("because AutoRegisterTopics registers a topic on first publish");
        received.Should().Equal([published], "because a pattern subscriber sees the topic as soon as it is registered");
        everything.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Topic_UnregisteredTopicWithAutoRegister_RegistersItOnSubscribe()
    {
        using var bus = new EventBus(new EventBusOptions { Scheduler = new TestScheduler(), AutoRegisterTopics = true });
        var received = new List<Event>();

        using (bus.Topic("payments").Subscribe(received.Add))
        {
            bus.TopicExists("payments").Should().BeTrue("because AutoRegisterTopics registers a topic on first subscribe");
            var published = bus.Publish("payments", 1);
            received.Should().Equal([published]);
        }

        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }
}
