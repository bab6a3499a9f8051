using System.Buffers.Binary;
using System.Reactive.Concurrency;
using Microsoft.Reactive.Testing;

namespace RxEventBus.Testing.Tests;

// The kit itself, used as a user would: publish at virtual times, run the clock, compare recordings.
public sealed class TestEventBusTests : ReactiveTest
{
    [Fact]
    public void Record_TypedTopic_RecordsEachPayloadAtItsVirtualTime()
    {
        using var bus = new TestEventBus("orders");
        var orders = bus.Record<Order>("orders");

        bus.PublishAt(210, "orders", new Order(1));
        bus.PublishAt(300, "orders", new Order(2));
        bus.Scheduler.Start();

        orders.Data.AssertEqual(OnNext(210, new Order(1)), OnNext(300, new Order(2)));
        orders.Events.Select(e => e.OccurredAt).Should().Equal(
            [DateTimeOffset.UnixEpoch.AddTicks(210), DateTimeOffset.UnixEpoch.AddTicks(300)],
            "because the bus stamps events with the virtual clock, which reads the Unix epoch at tick 0");
    }

    [Fact]
    public void Record_TopicUnregistered_RecordsTheCompletionAtItsTime()
    {
        using var bus = new TestEventBus("orders");
        var orders = bus.Record<Order>("orders");
        bus.PublishAt(210, "orders", new Order(1));
        bus.Scheduler.ScheduleAbsolute(300, () => bus.Bus.UnregisterTopic("orders"));

        bus.Scheduler.Start();

        orders.Data.AssertEqual(OnNext(210, new Order(1)), OnCompleted<Order>(300));
    }

    [Fact]
    public void RecordAll_Patterns_RecordsEveryMatchingTopicIncludingOnesRegisteredLater()
    {
        using var bus = new TestEventBus("purchase_made", "user_created");
        var purchases = bus.RecordAll("purchase_", ".*_refund$");
        bus.PublishAt(210, "purchase_made", "p1");
        bus.PublishAt(220, "user_created", "u1");
        bus.Scheduler.ScheduleAbsolute(230, () => bus.Bus.RegisterTopic("card_refund"));
        bus.PublishAt(240, "card_refund", "r1");

        bus.Scheduler.Start();

        purchases.Project(e => (e.Topic, e.Data)).AssertEqual(
            OnNext(210, ("purchase_made", (object)"p1")),
            OnNext(240, ("card_refund", (object)"r1")));
    }

    [Fact]
    public void Record_PayloadOfAnotherType_ReadingTheRecordingThrowsNamingTheTypeTimeAndEvent()
    {
        using var bus = new TestEventBus("orders");
        var orders = bus.Record<Order>("orders");
        var any = bus.Record("orders");

        bus.PublishAt(210, "orders", new Order(1));
        bus.PublishAt(220, "orders", "not an order");
        bus.Start();

        var read = () => orders.Data;
        read.Should().Throw<InvalidOperationException>("because a payload of another type must not vanish from the recording silently")
            .WithMessage("Record<Order>(\"orders\") saw, at virtual time 220, event * of topic 'orders' whose payload is a System.String, not a *Order.*");
        orders.Invoking(o => o.Events).Should().Throw<InvalidOperationException>();
        any.Data.AssertEqual(OnNext(210, (object)new Order(1)), OnNext(220, (object)"not an order"));
    }

    [Fact]
    public void Record_PayloadsOfASubtype_AreRecorded()
    {
        using var bus = new TestEventBus("shapes");
        var shapes = bus.Record<Shape>("shapes");

        bus.PublishAt(210, "shapes", new Circle(2));
        bus.Start();

        shapes.Data.AssertEqual(OnNext(210, (Shape)new Circle(2)));
    }

    [Fact]
    public void Start_IntervalAlive_WouldNeverReturnSoAdvanceToStopsWhereTold()
    {
        using var bus = new TestEventBus("ticks");
        using var ticking = System.Reactive.Linq.Observable.Interval(TimeSpan.FromSeconds(1), bus.Scheduler)
            .Subscribe(n => bus.Bus.Publish("ticks", n));
        var ticks = bus.Record<long>("ticks");

        bus.AdvanceTo(TimeSpan.FromSeconds(3));

        ticks.Data.AssertEqual(
            VirtualTimeTest.OnNext(TimeSpan.FromSeconds(1), 0L),
            VirtualTimeTest.OnNext(TimeSpan.FromSeconds(2), 1L),
            VirtualTimeTest.OnNext(TimeSpan.FromSeconds(3), 2L));
        bus.Elapsed.Should().Be(TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void Start_NothingPeriodic_RunsEverythingScheduledAndStopsAtTheLastOne()
    {
        using var bus = new TestEventBus("orders");
        var orders = bus.Record<Order>("orders");
        bus.PublishAt(TimeSpan.FromHours(2), "orders", new Order(2));
        bus.PublishAt(TimeSpan.FromMinutes(1), "orders", new Order(1));

        bus.Start();

        orders.Data.AssertEqual(
            VirtualTimeTest.OnNext(TimeSpan.FromMinutes(1), new Order(1)),
            VirtualTimeTest.OnNext(TimeSpan.FromHours(2), new Order(2)));
        bus.Elapsed.Should().Be(TimeSpan.FromHours(2), "because Start runs the clock to the last scheduled action, no further");
    }

    [Fact]
    public void VirtualTimeTest_TimeSpanFactories_AreTheTickOnesInTheSameUnitAsPublishAt()
    {
        var error = new InvalidOperationException("boom");

        VirtualTimeTest.OnNext(TimeSpan.FromMinutes(31), 7).Should().Be(OnNext(TimeSpan.FromMinutes(31).Ticks, 7));
        VirtualTimeTest.OnCompleted<int>(TimeSpan.FromSeconds(2)).Should().Be(OnCompleted<int>(TimeSpan.FromSeconds(2).Ticks));
        VirtualTimeTest.OnError<int>(TimeSpan.FromSeconds(3), error).Should().Be(OnError<int>(TimeSpan.FromSeconds(3).Ticks, error));
    }

    [Fact]
    public void SchedulerStart_TopicAsTheObservableUnderTest_SubscribesAt200AndDisposesAt1000()
    {
        using var bus = new TestEventBus("numbers");
        bus.PublishAt(150, "numbers", 1);
        bus.PublishAt(250, "numbers", 2);
        bus.PublishAt(1_100, "numbers", 3);

        var results = bus.Scheduler.Start(() => bus.Bus.Topic<int>("numbers"));

        results.Messages.Data().AssertEqual(OnNext(250, 2));
        bus.Bus.Diagnostics.LiveSubscriptions.Should().Be(0, "because Start disposed its subscription at 1000");
    }

    [Fact]
    public void RecorderDispose_StopsRecordingAndKeepsWhatCameBefore()
    {
        using var bus = new TestEventBus("orders");
        var orders = bus.Record<Order>("orders");
        bus.PublishAt(210, "orders", new Order(1));
        bus.Scheduler.ScheduleAbsolute(250, orders.Dispose);
        bus.PublishAt(300, "orders", new Order(2));

        bus.Scheduler.Start();

        orders.Data.AssertEqual(OnNext(210, new Order(1)));
        bus.Bus.Diagnostics.LiveSubscriptions.Should().Be(0);
    }

    [Fact]
    public void Dispose_LiveRecorders_StopsThemWithoutACompletionAndDisposesTheBus()
    {
        var bus = new TestEventBus("orders");
        var orders = bus.Record<Order>("orders");
        var errors = bus.RecordErrors();

        bus.Dispose();

        orders.Messages.Should().BeEmpty("because the recordings stop before the bus completes its subscriptions");
        errors.Messages.Should().BeEmpty();
        bus.Bus.Diagnostics.LiveSubscriptions.Should().Be(0);
        var publish = () => bus.Bus.Publish("orders", new Order(1));
        publish.Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public void PublishAt_TimeSpan_PublishesWhenTheClockGetsThere()
    {
        using var bus = new TestEventBus("orders");
        var orders = bus.Record<Order>("orders");
        bus.PublishAt(TimeSpan.FromMinutes(5), "orders", new Order(1));

        bus.AdvanceBy(TimeSpan.FromMinutes(5) - TimeSpan.FromTicks(1));
        orders.Messages.Should().BeEmpty("because five minutes have not passed yet");
        bus.AdvanceTo(TimeSpan.FromMinutes(5));

        orders.Data.AssertEqual(OnNext(TimeSpan.FromMinutes(5).Ticks, new Order(1)));
    }

    [Fact]
    public void PublishAt_FiveMinutes_OccurredAtIsFiveMinutesAfterTheEpochAndTheIdCarriesThatMillisecond()
    {
        using var bus = new TestEventBus("orders");
        var orders = bus.Record<Order>("orders");
        bus.PublishAt(TimeSpan.FromMinutes(5), "orders", new Order(1));

        bus.Scheduler.Start();

        var published = orders.Events.Should().ContainSingle().Which;
        published.OccurredAt.Should().Be(
            DateTimeOffset.UnixEpoch + TimeSpan.FromMinutes(5), "because the kit's clock reads the Unix epoch at tick 0");
        UnixMillisecondsOf(published.Id).Should().Be(
            5 * 60 * 1000, "because the default UUIDv7 id encodes the virtual time, which it could not before 1970");
        orders.Data.AssertEqual(OnNext(TimeSpan.FromMinutes(5).Ticks, new Order(1)));
    }

    [Fact]
    public void PublishAt_IncreasingVirtualTimes_IdsSortByTime()
    {
        using var bus = new TestEventBus("orders");
        var orders = bus.Record<Order>("orders");
        for (var i = 1; i <= 20; i++)
        {
            bus.PublishAt(TimeSpan.FromMilliseconds(10 * i), "orders", new Order(i));
        }

        bus.Scheduler.Start();

        var ids = orders.Events.Select(e => e.Id).ToList();
        ids.Select(UnixMillisecondsOf).Should().Equal(
            Enumerable.Range(1, 20).Select(i => 10L * i), "because each id carries the virtual millisecond it was made at");
        ids.Should().BeInAscendingOrder("because ids made at later virtual times compare greater, as they do on a real clock");
        ids.Select(id => id.ToString()).Should().BeInAscendingOrder(StringComparer.Ordinal, "because their text sorts the same way");
    }

    [Fact]
    public void Constructor_Options_BuildsTheBusWithThemOnTheirTestScheduler()
    {
        var scheduler = new TestScheduler();
        using var bus = new TestEventBus(new EventBusOptions { Scheduler = scheduler, AutoRegisterTopics = true, DefaultSource = "tests" });
        bus.PublishAt(210, "anything", 1);

        bus.Scheduler.Start();

        bus.Scheduler.Should().BeSameAs(scheduler);
        bus.Bus.Topics.Should().Equal(["anything"], "because the options register topics on first use");
    }

    [Fact]
    public void Constructor_OptionsOnAnotherScheduler_IsRefusedNamingTheScheduler()
    {
        var act = () => new TestEventBus(new EventBusOptions { Scheduler = ImmediateScheduler.Instance });

        act.Should().Throw<ArgumentException>().WithParameterName("options").WithMessage("*TestScheduler*ImmediateScheduler*");
    }

    // A UUIDv7 begins with its 48-bit Unix-millisecond timestamp, big-endian (RFC 9562).
    private static long UnixMillisecondsOf(Guid id) => (long)(BinaryPrimitives.ReadUInt64BigEndian(id.ToByteArray(bigEndian: true)) >> 16);

    private sealed record Order(int Number);

    private abstract record Shape;

    private sealed record Circle(int Radius) : Shape;
}
