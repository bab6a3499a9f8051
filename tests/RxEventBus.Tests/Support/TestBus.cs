using Microsoft.Reactive.Testing;

namespace RxEventBus.Tests.Support;

/// <summary>Builds buses on virtual time, and checks that a bus still does its job after a bad call.</summary>
public static class TestBus
{
    /// <summary>A bus whose only clock is <paramref name="scheduler"/>, with <paramref name="topics"/> registered.</summary>
    public static EventBus Create(TestScheduler scheduler, params string[] topics) =>
        new(new EventBusOptions { Scheduler = scheduler, Topics = topics });

    /// <summary>
    /// Proves that a bad call left the bus working: a new subscriber of <paramref name="topic"/> receives a
    /// new event published there, and its subscription is released again.
    /// </summary>
    public static void ShouldStillDeliver(this EventBus bus, string topic)
    {
        var liveBefore = bus.Diagnostics.LiveSubscriptions;
        var received = new List<Event>();
        Event published;
        using (bus.Topic(topic).Subscribe(received.Add))
        {
            published = bus.Publish(topic, "still working");
        }

        received.Should().Equal([published], "because a rejected call must leave the bus publishing and delivering");
        bus.Diagnostics.LiveSubscriptions.Should().Be(liveBefore, "because the probe's own subscription was disposed");
    }
}
