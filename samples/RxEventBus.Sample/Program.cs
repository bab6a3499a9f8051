// A tour of the core bus: topics, pattern subscriptions, a tracked subscriber, EventSource with an error
// topic, and a UI-style event bridged onto a topic. Run: dotnet run --project samples/RxEventBus.Sample
using System.Reactive.Linq;
using RxEventBus;

using var bus = new EventBus(new EventBusOptions
{
    Topics = ["user_created", "purchase_completed", "purchase_failed", "booking_confirmed", "button_clicked"],
    DefaultSource = "sample",
    DefaultTtl = TimeSpan.FromMinutes(15),
});

using var errors = bus.Errors.Subscribe(e => Console.WriteLine($"  [bus error] {e.Origin}: {e.Exception.Message}"));

// Every topic is an IObservable: compose it with Rx.
using var users = bus.Topic<User>("user_created")
    .Select(e => e.Data.Name)
    .Subscribe(name => Console.WriteLine($"  user_created          -> welcome mail to {name}"));

// The seed's pattern semantics: each regex is anchored at the start of the topic name, as event_bus's
// ^(pattern), so "purchase_" is every topic starting with it; ".*" reaches into the name.
using var purchases = bus.Match("purchase_")
    .Subscribe(e => Console.WriteLine($"  pattern purchase_     -> {e.Topic}"));
using var confirmations = bus.Match(".*_confirmed$")
    .Subscribe(e => Console.WriteLine($"  pattern .*_confirmed$ -> {e.Topic}"));

// A tracked subscriber answers each event; the bus keeps it until every tracked subscriber has.
using var audit = bus.Tracked("audit", ".*").Subscribe(
    tracked =>
    {
        Console.WriteLine($"  tracked 'audit'       -> {tracked.Event.Topic} ({bus.Diagnostics.PendingEvents} pending)");
        tracked.MarkCompleted();
    },
    () => Console.WriteLine("  tracked 'audit'       -> completed"));

Console.WriteLine("EventSource.Notify stamps the times and publishes:");
var user = bus.Notify("user_created", () => new User("Ada"));

Console.WriteLine("A failing producer publishes to the error topic and rethrows:");
try
{
    bus.Notify<Purchase>("purchase_completed", () => throw new InvalidOperationException("card declined"),
        new EventSourceParams { ErrorTopic = "purchase_failed", TransactionId = Guid.CreateVersion7() });
}
catch (InvalidOperationException e)
{
    Console.WriteLine($"  caller still sees: {e.Message}");
}

Console.WriteLine("A pattern subscription also receives topics registered after it:");
bus.RegisterTopic("purchase_refunded");
bus.Publish("purchase_refunded", new Purchase(user.Name, 12.5m));
bus.Publish("booking_confirmed", new Purchase(user.Name, 99m));

Console.WriteLine("A UI-style .NET event bridged onto a topic:");
var button = new Button();
using (bus.Attach("button_clicked", Observable.FromEventPattern(h => button.Click += h, h => button.Click -= h).Select(_ => "clicked")))
using (bus.Topic("button_clicked").Subscribe(e => Console.WriteLine($"  button_clicked        -> {e.Data}")))
{
    button.Press();
}

Console.WriteLine("A tracked subscriber ended by name, as disposing it would, and completed:");
var unsubscribed = bus.Unsubscribe("audit");
Console.WriteLine($"  Unsubscribe(\"audit\") = {unsubscribed}, IsSubscribed(\"audit\") = {bus.IsSubscribed("audit")}");

Console.WriteLine($"Pending events left: {bus.Diagnostics.PendingEvents}");
Console.WriteLine("Subscribers:");
foreach (var s in bus.Subscribers())
{
    Console.WriteLine($"  #{s.Id} {s.Kind,-7} {s.Name ?? "",-6} [{string.Join(", ", s.Patterns)}] -> {string.Join(", ", s.Topics)}");
}

internal sealed record User(string Name);

internal sealed record Purchase(string Customer, decimal Amount);

internal sealed class Button
{
    public event EventHandler? Click;

    public void Press() => Click?.Invoke(this, EventArgs.Empty);
}
