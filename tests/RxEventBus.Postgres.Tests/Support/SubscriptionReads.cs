namespace RxEventBus.Postgres.Tests.Support;

// Reading a subscription in tests: the first `count` events it yields, within a safety limit of real time.
internal static class SubscriptionReads
{
    internal static async Task<List<Event>> TakeAsync(EventSubscription subscription, int count, TimeSpan limit)
    {
        var events = new List<Event>();
        using var cancel = new CancellationTokenSource(limit);
        await foreach (var e in subscription.ReadAsync(cancel.Token))
        {
            events.Add(e);
            if (events.Count == count)
            {
                break;
            }
        }

        return events;
    }
}
