using Microsoft.Reactive.Testing;
using RxEventBus.Testing;
using Xunit;

namespace Shop.Tests;

public sealed class PaymentRemindersTests : VirtualTimeTest
{
    private static readonly TimeSpan GracePeriod = TimeSpan.FromMinutes(30);

    [Fact]
    public void OrderNotPaidInTime_IsRemindedOnceTheGracePeriodEnds()
    {
        using var bus = new TestEventBus("order_placed", "payment_received", "payment_reminder");
        using var service = new PaymentReminders(bus.Bus, GracePeriod);
        var reminders = bus.Record<PaymentReminder>("payment_reminder");

        bus.PublishAt(Minutes(1), "order_placed", new OrderPlaced(1, 20m));
        bus.PublishAt(Minutes(2), "order_placed", new OrderPlaced(2, 35m));
        bus.PublishAt(Minutes(10), "payment_received", new PaymentReceived(2));
        bus.Start();

        reminders.Data.AssertEqual(
            OnNext(Minutes(31), new PaymentReminder(1)));
    }

    [Fact]
    public void OrderPaidOnTheLastTick_IsNotReminded()
    {
        using var bus = new TestEventBus("order_placed", "payment_received", "payment_reminder");
        using var service = new PaymentReminders(bus.Bus, GracePeriod);
        var reminders = bus.Record<PaymentReminder>("payment_reminder");

        bus.PublishAt(Minutes(1), "order_placed", new OrderPlaced(1, 20m));
        bus.PublishAt(Minutes(31) - TimeSpan.FromTicks(1), "payment_received", new PaymentReceived(1));
        bus.Start();

        Assert.Empty(reminders.Data); // paid one tick before the reminder was due
    }

    [Fact]
    public void Dispose_AfterReminders_ReleasesEverySubscription()
    {
        using var bus = new TestEventBus("order_placed", "payment_received", "payment_reminder");
        var service = new PaymentReminders(bus.Bus, GracePeriod);
        bus.PublishAt(Minutes(1), "order_placed", new OrderPlaced(1, 20m));
        bus.PublishAt(Minutes(2), "order_placed", new OrderPlaced(2, 35m));
        bus.AdvanceTo(Minutes(5));

        Assert.Equal(2, bus.Bus.Diagnostics.SubscriptionCount("payment_received")); // one wait per unpaid order
        service.Dispose();

        Assert.Equal(0, bus.Bus.Diagnostics.LiveSubscriptions); // the service left nothing behind
    }

    private static TimeSpan Minutes(int minutes) => TimeSpan.FromMinutes(minutes);
}
