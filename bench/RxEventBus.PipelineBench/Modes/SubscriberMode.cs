using System.Globalization;
using RxEventBus.Postgres;

namespace RxEventBus.PipelineBench.Modes;

// The live mode's child process: an anonymous EventSubscription from End on --table, which prints "ready" once
// it is Live (so the parent publishes only into a reader that is caught up), then one line per event:
// "<id> <DateTime.UtcNow.Ticks>", the receive time taken as ReadAsync yields the event, before printing. Exits 0
// after --count events, with a last line "stats <GC pause ms> <gen0> <gen1> <gen2>" (this process's collections,
// to tell a pause of its own from the machine's). Nothing else goes to stdout: it is the parent's data channel.
internal static class SubscriberMode
{
    internal static async Task<int> RunAsync(BenchSettings settings)
    {
        var parts = settings.SubscriberTable!.Split('.');
        var table = new EventTable(parts[0], parts[1], settings.Design);
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(DatabaseUrl.ToConnectionString(settings.DatabaseUrl!));
        await using var subscription = new EventSubscription(
            dataSource, table, new JsonEventSerializer(), new EventSubscriptionOptions { From = SubscriptionStart.End });
        var output = Console.Out;
        var announced = 0;
        using var watch = subscription.StateChanges.Subscribe(state =>
        {
            if (state == SubscriptionState.Live && Interlocked.Exchange(ref announced, 1) == 0)
            {
                output.WriteLine("ready");
                output.Flush();
            }
        });
        long received = 0;
        await foreach (var @event in subscription.ReadAsync())
        {
            var at = DateTime.UtcNow.Ticks;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{@event.Id:N} {at}"));
            if (++received == settings.SubscriberCount)
            {
                break;
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"stats {GC.GetTotalPauseDuration().TotalMilliseconds:F0} {GC.CollectionCount(0)} {GC.CollectionCount(1)} {GC.CollectionCount(2)}"));
        output.Flush();
        return 0;
    }
}
