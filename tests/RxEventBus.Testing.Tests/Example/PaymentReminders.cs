using System.Reactive.Linq;
using RxEventBus;

namespace Shop;

public sealed record OrderPlaced(int OrderId, decimal Amount);

public sealed record PaymentReceived(int OrderId);

public sealed record PaymentReminder(int OrderId);

// A user's service: it subscribes to the bus, waits, and publishes. It reminds the customer of an order
// that is not paid within the grace period. It reads time only through bus.Scheduler, so a test drives it.
public sealed class PaymentReminders : IDisposable
{
    private readonly IDisposable _subscription;

    public PaymentReminders(EventBus bus, TimeSpan gracePeriod)
    {
        var payments = bus.Topic<PaymentReceived>("payment_received");
        _subscription = bus.Topic<OrderPlaced>("order_placed")
            .SelectMany(order => Observable.Timer(gracePeriod, bus.Scheduler)
                .TakeUntil(payments.Where(payment => payment.Data.OrderId == order.Data.OrderId))
                .Select(_ => new PaymentReminder(order.Data.OrderId)))
            .Subscribe(reminder => bus.Publish("payment_reminder", reminder));
    }

    public void Dispose() => _subscription.Dispose();
}
