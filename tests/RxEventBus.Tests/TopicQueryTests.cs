using Microsoft.Reactive.Testing;
using RxEventBus.Tests.Support;

namespace RxEventBus.Tests;

// One rule for a topic that is not registered: using it is an error (Publish, Topic, Attach throw
// TopicNotRegisteredException: TopicRegistrationTests, BridgingTests); asking about it is not. A topic's
// pending events outlive its registration, so every query by name answers empty, null or 0 instead of throwing.
public sealed class TopicQueryTests
{
    [Fact]
    public void Queries_TopicNeverRegistered_AnswerEmptyNullOrZeroAndNullStillThrows()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        var everything = bus.Match(".*").Subscribe(_ => { });
        var id = Guid.NewGuid();

        bus.Subscribers("payments").Should().BeEmpty("because asking who receives a topic is not using it, and nothing receives it");
        bus.Pending("payments").Should().BeEmpty("because nothing was ever published there");
        bus.FetchEvent("payments", id).Should().BeNull("because the bus holds no such event");
        bus.FetchEventData("payments", id).Should().BeNull();
        bus.Diagnostics.SubscriptionCount("payments").Should().Be(0);
        bus.TopicExists("payments").Should().BeFalse("because asking registers nothing");

        bus.Invoking(b => b.Subscribers(null!)).Should().Throw<ArgumentNullException>("because a null name is a bug, not a question");
        bus.Invoking(b => b.Pending(null!)).Should().Throw<ArgumentNullException>();
        bus.Invoking(b => b.FetchEvent(null!, id)).Should().Throw<ArgumentNullException>();
        bus.Invoking(b => b.FetchEventData(null!, id)).Should().Throw<ArgumentNullException>();
        bus.Invoking(b => b.Diagnostics.SubscriptionCount(null!)).Should().Throw<ArgumentNullException>();
        everything.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Queries_TopicUnregisteredWithAPendingEvent_AnswerWithoutThrowingAndStillShowTheEvent()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        var answers = new List<TrackedEvent>();
        var tracked = bus.Tracked("auditor", "orders").Subscribe(answers.Add);
        var published = bus.Publish("orders", "order #1");

        bus.UnregisterTopic("orders");

        bus.Subscribers("orders").Should().BeEmpty("because no subscription receives the topic any more, though the auditor still owes an event of it");
        bus.Diagnostics.SubscriptionCount("orders").Should().Be(0);
        bus.Pending("orders").Should().ContainSingle("because pending events outlive their topic's registration")
            .Which.Event.Should().BeSameAs(published);
        bus.FetchEvent("orders", published.Id).Should().BeSameAs(published);
        bus.FetchEventData("orders", published.Id).Should().Be("order #1");
        answers.Should().ContainSingle().Which.MarkCompleted();
        bus.Pending("orders").Should().BeEmpty("because its only tracked subscriber answered");
        tracked.Dispose();
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }
}
