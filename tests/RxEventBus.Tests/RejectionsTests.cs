using System.Reactive.Subjects;
using Microsoft.Reactive.Testing;
using RxEventBus.Tests.Support;

namespace RxEventBus.Tests;

// EventBus.Rejections: events refused to their publisher, seen by someone other than the publisher.
public sealed class RejectionsTests
{
    [Fact]
    public void Publish_TwoSubscribersRefuse_EachRefusalIsReportedBeforeThePublisherGetsTheFirst()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        var rejections = new List<EventRejection>();
        var publisherHadReturned = new List<bool>();
        var returned = false;
        using var watch = bus.Rejections.Subscribe(r =>
        {
            rejections.Add(r);
            publisherHadReturned.Add(returned);
        });
        var errors = new List<EventBusError>();
        using var errorWatch = bus.Errors.Subscribe(errors.Add);
        var full = new EventRejectedException("buffer full");
        var closed = new EventRejectedException("stopping");
        using var tracked = bus.Tracked("buffer", "orders").Subscribe(_ => throw full);
        using var plain = bus.Topic("orders").Subscribe(_ => throw closed);
        using var accepting = bus.Topic("orders").Subscribe(_ => { });

        var @event = bus.CreateEvent("orders", 1);
        var publish = () =>
        {
            try
            {
                bus.Publish(@event);
            }
            finally
            {
                returned = true;
            }
        };

        publish.Should().Throw<EventRejectedException>().Which.Should().BeSameAs(full, "the publisher gets the first refusal, as before");
        rejections.Should().HaveCount(2, "each refusing subscriber is reported");
        publisherHadReturned.Should().Equal([false, false], "both are reported while the publish is still under way");
        rejections.Should().AllSatisfy(r =>
        {
            r.Reason.Should().Be(EventRejectionReason.RefusedBySubscriber);
            r.Event.Should().BeSameAs(@event);
        });
        rejections[0].Subscriber!.Should().Match<SubscriberInfo>(s => s.Name == "buffer" && s.Kind == SubscriptionKind.Tracked);
        rejections[0].Exception.Should().BeSameAs(full);
        rejections[1].Subscriber!.Should().Match<SubscriberInfo>(s => s.Name == null && s.Kind == SubscriptionKind.Topic);
        rejections[1].Exception.Should().BeSameAs(closed);
        errors.Should().BeEmpty("a refusal is not a fault");
    }

    [Fact]
    public void Publish_SubscriberThrowsAnythingElse_IsAnErrorNotARejection()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        var rejections = new List<EventRejection>();
        using var watch = bus.Rejections.Subscribe(rejections.Add);
        using var faulty = bus.Topic("orders").Subscribe(_ => throw new InvalidOperationException("bug"));

        bus.Publish("orders", 1);

        rejections.Should().BeEmpty("the event was accepted: the publisher got no exception");
    }

    [Fact]
    public void Publish_UnregisteredTopic_ReportsTheEventAndTheExceptionThePublisherGets()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        var rejections = new List<EventRejection>();
        using var watch = bus.Rejections.Subscribe(rejections.Add);
        var @event = bus.CreateEvent("ordres", 1);

        var publish = () => bus.Publish(@event);

        var thrown = publish.Should().Throw<TopicNotRegisteredException>().Which;
        rejections.Should().ContainSingle().Which.Should().Match<EventRejection>(r =>
            r.Reason == EventRejectionReason.TopicNotRegistered && r.Event == @event && r.Subscriber == null && r.Exception == thrown);
    }

    [Fact]
    public void Publish_UnregisteredTopicWithAutoRegistration_IsNoRejection()
    {
        using var bus = new EventBus(new EventBusOptions { Scheduler = new TestScheduler(), AutoRegisterTopics = true });
        var rejections = new List<EventRejection>();
        using var watch = bus.Rejections.Subscribe(rejections.Add);

        bus.Publish("new_topic", 1);

        rejections.Should().BeEmpty();
    }

    [Fact]
    public void Publish_RejectionsObserverThrows_ThePublisherStillGetsTheRefusal()
    {
        using var bus = TestBus.Create(new TestScheduler(), "orders");
        using var badWatch = bus.Rejections.Subscribe(_ => throw new InvalidOperationException("a broken log"));
        var refusal = new EventRejectedException("buffer full");
        using var refusing = bus.Topic("orders").Subscribe(_ => throw refusal);

        var publish = () => bus.Publish("orders", 1);

        publish.Should().Throw<EventRejectedException>().Which.Should().BeSameAs(refusal);
    }

    [Fact]
    public void Attach_SourcesEventRefused_IsARejectionAndAnAttachedSourceError()
    {
        using var bus = TestBus.Create(new TestScheduler(), "clicks");
        var rejections = new List<EventRejection>();
        using var watch = bus.Rejections.Subscribe(rejections.Add);
        var errors = new List<EventBusError>();
        using var errorWatch = bus.Errors.Subscribe(errors.Add);
        using var refusing = bus.Topic("clicks").Subscribe(_ => throw new EventRejectedException("full"));
        var source = new Subject<int>();
        using var attached = bus.Attach("clicks", source);

        source.OnNext(1);

        rejections.Should().ContainSingle().Which.Reason.Should().Be(EventRejectionReason.RefusedBySubscriber);
        errors.Should().ContainSingle().Which.Should().Match<EventBusError>(e =>
            e.Origin == EventBusErrorOrigin.AttachedSource && e.Exception == rejections[0].Exception,
            "the source cannot be thrown into, so its failed publish is also an error, as before");
    }

    [Fact]
    public void Dispose_CompletesRejections()
    {
        var bus = TestBus.Create(new TestScheduler(), "orders");
        var completed = false;
        using var watch = bus.Rejections.Subscribe(_ => { }, () => completed = true);

        bus.Dispose();

        completed.Should().BeTrue();
    }
}
