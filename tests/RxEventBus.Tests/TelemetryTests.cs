using System.Diagnostics.Metrics;
using Microsoft.Reactive.Testing;
using RxEventBus.Tests.Support;

namespace RxEventBus.Tests;

// The core's instrument, rxeventbus.events.published, and what it costs the publish path. Instruments are
// process-wide: each test uses topics no other test publishes to and counts only those. Classes that attach
// a MeterListener join this collection, so none is attached while the allocation test measures.
[Collection(TelemetryTests.Collection)]
public sealed class TelemetryTests
{
    public const string Collection = "Telemetry";

    [Fact]
    public void Publish_ListenerAttached_CountsEachEventUnderItsTopic()
    {
        var orders = Unique("orders");
        var payments = Unique("payments");
        using var bus = TestBus.Create(new TestScheduler(), orders, payments);
        var counted = new List<(string Instrument, string? Unit, string Topic, long Value)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == RxEventBusTelemetry.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var topic = TagValue(tags, "topic");
            if (topic == orders || topic == payments)
            {
                lock (counted)
                {
                    counted.Add((instrument.Name, instrument.Unit, topic, value));
                }
            }
        });
        listener.Start();

        bus.Publish(orders, 1);
        bus.Publish(orders, 2);
        bus.Publish(payments, 3);
        bus.Publish(orders, 4);

        counted.Should().OnlyContain(m => m.Instrument == "rxeventbus.events.published" && m.Unit == "{event}" && m.Value == 1,
            "because each publish adds one event to the published counter");
        counted.Select(m => m.Topic).Should().Equal([orders, orders, payments, orders],
            "because each event is counted under its own topic, in publish order, whether or not the topic has subscribers");
    }

    [Fact]
    public void Publish_NoListener_AllocatesNothing()
    {
        var topic = Unique("hot");
        using var bus = TestBus.Create(new TestScheduler(), topic);
        var received = 0;
        using var subscription = bus.Topic(topic).Subscribe(_ => received++);
        var @event = bus.CreateEvent(topic, "payload");
        bus.Publish(@event); // the first publish runs static constructors and the JIT; it is not measured

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            bus.Publish(@event);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.Should().Be(0, "because with no listener the published counter costs a branch, and publishing allocates nothing");
        received.Should().Be(1_001);
    }

    [Fact]
    public void Publish_ListenerAttached_AllocatesNothingInTheBus()
    {
        var topic = Unique("hot");
        using var bus = TestBus.Create(new TestScheduler(), topic);
        var total = 0L;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == RxEventBusTelemetry.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref total, value));
        listener.Start();
        var @event = bus.CreateEvent(topic, "payload");
        bus.Publish(@event);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            bus.Publish(@event);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.Should().Be(0, "because the topic tag is made once per topic, and a tag holding a string boxes nothing");
        Interlocked.Read(ref total).Should().BeGreaterThanOrEqualTo(1_001);
    }

    [Fact]
    public void Publish_Refused_CountsOneRejectionPerRefusingSubscriberAndOnePerUnregisteredTopic()
    {
        var orders = Unique("orders");
        var typo = Unique("ordres");
        using var bus = TestBus.Create(new TestScheduler(), orders);
        var counted = new List<(string? Unit, string? Topic, string? Reason, long Value)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == RxEventBusTelemetry.MeterName && instrument.Name == "rxeventbus.events.rejected")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var topic = TagValue(tags, "topic");
            if (topic == orders || topic == typo)
            {
                lock (counted)
                {
                    counted.Add((instrument.Unit, topic, TagValue(tags, "reason"), value));
                }
            }
        });
        listener.Start();
        using var first = bus.Topic(orders).Subscribe(_ => throw new EventRejectedException("full"));
        using var second = bus.Tracked("buffer", orders).Subscribe(_ => throw new EventRejectedException("stopping"));
        using var faulty = bus.Topic(orders).Subscribe(_ => throw new InvalidOperationException("a bug, not a refusal"));

        var refused = () => bus.Publish(orders, 1);
        var misspelt = () => bus.Publish(typo, 2);

        refused.Should().Throw<EventRejectedException>();
        misspelt.Should().Throw<TopicNotRegisteredException>();
        counted.Should().Equal(
            [("{event}", orders, "refused", 1L), ("{event}", orders, "refused", 1L), ("{event}", typo, "topic_not_registered", 1L)],
            "each refusal on Rejections is counted once, under its topic and reason; a subscriber's bug is no refusal");
    }

    private static string Unique(string name) => $"{name}_{Guid.NewGuid():N}";

    private static string? TagValue(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == name)
            {
                return tag.Value as string;
            }
        }

        return null;
    }
}
