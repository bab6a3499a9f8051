using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Reactive.Testing;
using RxEventBus.Tests.Support;

namespace RxEventBus.Tests;

// The envelope (the seed's %EventBus.Model.Event{}) and the ids the bus gives it.
public sealed class EventTests
{
    private static readonly DateTimeOffset Noon = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(nameof(Event.Id), true)]
    [InlineData(nameof(Event.Topic), true)]
    [InlineData(nameof(Event.Data), true)]
    [InlineData(nameof(Event.TransactionId), false)]
    [InlineData(nameof(Event.InitializedAt), false)]
    [InlineData(nameof(Event.OccurredAt), false)]
    [InlineData(nameof(Event.Source), false)]
    [InlineData(nameof(Event.Ttl), false)]
    public void Event_Member_IsRequiredExactlyWhenTheSeedRequiresIt(string member, bool required)
    {
        var property = typeof(Event).GetProperty(member)!;

        property.IsDefined(typeof(RequiredMemberAttribute)).Should().Be(
            required, "because an event must be built with an id, a topic and data, and may leave the rest out");
    }

    [Fact]
    public void Event_RequiredMembersOnly_LeavesOptionalMembersNull()
    {
        var @event = new Event { Id = Guid.NewGuid(), Topic = "orders", Data = 42 };

        @event.TransactionId.Should().BeNull("because no transaction was given");
        @event.InitializedAt.Should().BeNull("because no producing code was timed");
        @event.OccurredAt.Should().BeNull("because no time was given");
        @event.Source.Should().BeNull("because no source was given");
        @event.Ttl.Should().BeNull("because no ttl was given");
    }

    [Fact]
    public void Publish_EventWithEveryOptionalMember_DeliversItUnchanged()
    {
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders");
        var @event = new Event
        {
            Id = Guid.NewGuid(),
            Topic = "orders",
            Data = "order #1",
            TransactionId = Guid.NewGuid(),
            InitializedAt = Noon,
            OccurredAt = Noon.AddSeconds(1),
            Source = "checkout",
            Ttl = TimeSpan.FromDays(7),
        };
        var received = new List<Event>();

        using (bus.Topic("orders").Subscribe(received.Add))
        {
            bus.Publish(@event);
        }

        received.Should().ContainSingle().Which.Should().BeSameAs(@event, "because Publish delivers the caller's envelope as-is");
        received[0].Should().BeEquivalentTo(
            new { @event.Id, @event.TransactionId, InitializedAt = Noon, OccurredAt = Noon.AddSeconds(1), Source = "checkout", Ttl = TimeSpan.FromDays(7) },
            "because every optional member travels with the event");
        bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void CreateEvent_DefaultIdGenerator_MakesUuidV7CarryingTheSchedulersTime()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(Noon.AddMilliseconds(1234).UtcTicks);
        using var bus = TestBus.Create(scheduler, "orders");

        var @event = bus.CreateEvent("orders", "order #1");

        @event.Id.Version.Should().Be(7, "because the default generator makes time-ordered UUIDv7 ids");
        UnixMillisecondsOf(@event.Id).Should().Be(
            scheduler.Now.ToUnixTimeMilliseconds(), "because the id's 48-bit timestamp is the bus's clock, not the wall clock");
    }

    [Fact]
    public void CreateEvent_LaterVirtualTimes_IdsSortInTimeOrder()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(Noon.UtcTicks);
        using var bus = TestBus.Create(scheduler, "orders");
        var idsInTimeOrder = new List<Guid>();
        for (var i = 0; i < 10; i++)
        {
            idsInTimeOrder.Add(bus.CreateEvent("orders", i).Id);
            scheduler.AdvanceBy(TimeSpan.FromMilliseconds(1).Ticks);
        }

        var newestFirst = Enumerable.Reverse(idsInTimeOrder).ToList();

        newestFirst.Order().Should().Equal(idsInTimeOrder, "because ids made later on the bus's clock compare greater");
        idsInTimeOrder.Select(id => id.ToString()).Should().BeInAscendingOrder(
            StringComparer.Ordinal, "because a database sorting the text form must see the same order");
    }

    [Fact]
    public void CreateEvent_SchedulerStillAtVirtualTimeZero_MakesValidDistinctUuidV7Ids()
    {
        // A fresh TestScheduler says 0001-01-01, a time UUIDv7 cannot encode.
        var scheduler = new TestScheduler();
        using var bus = TestBus.Create(scheduler, "orders");

        var first = bus.CreateEvent("orders", 1);
        var second = bus.CreateEvent("orders", 2);

        first.Id.Version.Should().Be(7, "because virtual-time tests must get real ids, not an exception");
        second.Id.Should().NotBe(first.Id, "because ids stay unique even when the time cannot be encoded");
        first.OccurredAt.Should().Be(scheduler.Now, "because the event still carries the virtual time");
    }

    [Fact]
    public void CreateEvent_CustomIdGenerator_ReceivesTheSchedulersTime()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(Noon.UtcTicks);
        var seen = new List<DateTimeOffset>();
        var id = Guid.NewGuid();
        using var bus = new EventBus(new EventBusOptions
        {
            Scheduler = scheduler,
            Topics = ["orders"],
            IdGenerator = now =>
            {
                seen.Add(now);
                return id;
            },
        });

        var @event = bus.CreateEvent("orders", 1);

        @event.Id.Should().Be(id, "because the configured generator makes the ids");
        seen.Should().Equal([Noon], "because the generator is given the bus's clock");
    }

    [Fact]
    public void Duration_BothTimesSet_IsOccurredAtMinusInitializedAtOnTheEnvelopeAndItsTypedView()
    {
        var @event = new Event
        {
            Id = Guid.NewGuid(), Topic = "orders", Data = new Order("A-1", 3), InitializedAt = Noon, OccurredAt = Noon.AddMilliseconds(250),
        };

        @event.Duration.Should().Be(TimeSpan.FromMilliseconds(250), "because, as event_bus's Event.duration/1, it is occurred_at - initialized_at");
        @event.As<Order>().Duration.Should().Be(TimeSpan.FromMilliseconds(250), "because the typed view reads it through");
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void Duration_EitherTimeMissing_IsNull(bool initialized, bool occurred)
    {
        var @event = new Event
        {
            Id = Guid.NewGuid(),
            Topic = "orders",
            Data = 1,
            InitializedAt = initialized ? Noon : null,
            OccurredAt = occurred ? Noon.AddSeconds(1) : null,
        };

        @event.Duration.Should().BeNull("because a duration needs both ends");
        @event.As<int>().Duration.Should().BeNull();
    }

    [Fact]
    public void Equals_SameStoredMembers_EqualWhateverDurationSays()
    {
        var id = Guid.NewGuid();
        var first = new Event { Id = id, Topic = "orders", Data = 1, InitializedAt = Noon, OccurredAt = Noon.AddSeconds(1) };
        var second = new Event { Id = id, Topic = "orders", Data = 1, InitializedAt = Noon, OccurredAt = Noon.AddSeconds(1) };
        var shifted = first with { InitializedAt = Noon.AddHours(1), OccurredAt = Noon.AddHours(1).AddSeconds(1) };

        second.Should().Be(first, "because Duration is computed from stored members, not a member of its own");
        second.GetHashCode().Should().Be(first.GetHashCode());
        shifted.Duration.Should().Be(first.Duration);
        shifted.Should().NotBe(first, "because equal durations do not make events equal: their times differ");
    }

    [Fact]
    public void As_PayloadOfThatType_GivesTypedViewOfSameEnvelope()
    {
        var @event = new Event
        {
            Id = Guid.NewGuid(),
            Topic = "orders",
            Data = new Order("A-1", 3),
            TransactionId = Guid.NewGuid(),
            OccurredAt = Noon,
            Source = "checkout",
            Ttl = TimeSpan.FromHours(1),
        };

        var typed = @event.As<Order>();

        typed.Data.Should().Be(new Order("A-1", 3), "because the typed view exposes the payload as its type");
        typed.Envelope.Should().BeSameAs(@event, "because the typed view wraps the envelope, it does not copy it");
        typed.Should().BeEquivalentTo(
            new { @event.Id, @event.Topic, @event.TransactionId, @event.OccurredAt, @event.Source, @event.Ttl },
            "because every envelope member reads through the typed view");
    }

    [Fact]
    public void As_PayloadOfAnotherType_ThrowsInvalidCastNamingBothTypes()
    {
        var @event = new Event { Id = Guid.NewGuid(), Topic = "orders", Data = "not an order" };

        var act = () => @event.As<Order>();

        act.Should().Throw<InvalidCastException>("because a typed view cannot lie about its payload")
            .WithMessage($"*{typeof(string).FullName}*{typeof(Order).FullName}*");
    }

    // The first 48 bits of a UUIDv7 (RFC 9562, big-endian) are Unix milliseconds.
    private static long UnixMillisecondsOf(Guid id)
    {
        var bytes = id.ToByteArray(bigEndian: true);
        long milliseconds = 0;
        for (var i = 0; i < 6; i++)
        {
            milliseconds = (milliseconds << 8) | bytes[i];
        }

        return milliseconds;
    }

    public sealed record Order(string Number, int Quantity);
}
