using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RxEventBus.Postgres.Internal;

// The persistence consumer's instruments, on a meter named like the core's ("RxEventBus"), so that one
// AddMeter collects both. Instruments are process-wide; each consumer records with a tag naming its table
// ("schema.table"), which tells consumers apart. Nothing here is on the publish path's per-event cost except
// the dropped counter, which only moves when an event is dropped anyway.
internal sealed class PersistenceMetrics : IDisposable
{
    internal const string TableTagName = "table";
    internal const string OutcomeTagName = "outcome";
    internal const string ErrorTypeTagName = "error.type";
    internal const string SubscriptionTagName = "subscription";

    private static readonly Meter Meter = new(RxEventBusTelemetry.MeterName, typeof(PersistenceMetrics).Assembly.GetName().Version?.ToString());

    private static readonly Counter<long> PersistedCounter = Meter.CreateCounter<long>(
        "rxeventbus.events.persisted", "{event}", "Events whose batch committed (then acknowledged on the bus).");

    private static readonly Counter<long> DroppedCounter = Meter.CreateCounter<long>(
        "rxeventbus.events.dropped", "{event}", "Events dropped by a DropOldest or DropNewest overflow policy.");

    private static readonly Counter<long> DeadLetteredCounter = Meter.CreateCounter<long>(
        "rxeventbus.events.dead_lettered", "{event}", "Events that can never be written as they are, stored in the dead-letter table.");

    private static readonly Counter<long> RefusedCounter = Meter.CreateCounter<long>(
        "rxeventbus.events.refused", "{event}",
        "Events refused to their publisher: a full buffer under Fail, the publish timeout under Wait, a stopping or faulted consumer.");

    private static readonly Counter<long> DuplicatesCounter = Meter.CreateCounter<long>(
        "rxeventbus.events.duplicates", "{event}", "Persisted events whose id was already stored (written idempotently).");

    private static readonly Counter<long> ReplayedCounter = Meter.CreateCounter<long>(
        "rxeventbus.dead_letters.replayed", "{event}", "Dead letters replayed into the events table (and removed from the dead-letter table).");

    private static readonly Counter<long> RetriedCounter = Meter.CreateCounter<long>(
        "rxeventbus.batches.retried", "{batch}", "Write attempts (of a batch, its dead letters, or the check of the table) that failed and were retried after a backoff.");

    private static readonly Histogram<int> BatchSizeHistogram = Meter.CreateHistogram(
        "rxeventbus.batch.size", "{event}", "Events in each batch cut by the batcher.", tags: null,
        new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000] });

    private static readonly Histogram<double> CopyDurationHistogram = Meter.CreateHistogram(
        "rxeventbus.copy.duration", "s", "Duration of each COPY attempt, from opening the connection to the commit or the failure.", tags: null,
        new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });

    // The queues of the consumers that are started and not yet disposed, read only when a listener collects.
    private static readonly ConcurrentDictionary<PersistenceMetrics, Func<int>> Queues = new();

    private static readonly ObservableUpDownCounter<int> QueueDepth = Meter.CreateObservableUpDownCounter(
        "rxeventbus.queue.depth", ObserveQueues, "{event}", "Events in the persistence buffer, waiting to be batched.");

    private static readonly Counter<long> SubscriptionDeliveredCounter = Meter.CreateCounter<long>(
        "rxeventbus.subscription.delivered", "{event}", "Events a subscription over the events table delivered to its reader.");

    // The subscriptions that are reading, each with how long committed rows have waited behind an open transaction.
    private static readonly ConcurrentDictionary<object, (KeyValuePair<string, object?>[] Tags, Func<double> Seconds)> HeldBack = new();

    private static readonly ObservableGauge<double> HeldBackGauge = Meter.CreateObservableGauge(
        "rxeventbus.subscription.held_back", ObserveHeldBack, "s",
        "How long committed rows have waited behind an older transaction that is still open (0 when none): the subscription's delay from the fence.");

    private readonly KeyValuePair<string, object?> _table;

    internal PersistenceMetrics(EventTable table) => _table = new(TableTagName, TableTag(table));

    // Unquoted: schema and table are plain identifiers (EventTable checks), so the dot is unambiguous.
    internal static string TableTag(EventTable table) => $"{table.Schema}.{table.Table}";

    internal void Persisted(int events) => PersistedCounter.Add(events, _table);

    internal void Dropped() => DroppedCounter.Add(1, _table);

    internal void DeadLettered() => DeadLetteredCounter.Add(1, _table);

    internal void Refused() => RefusedCounter.Add(1, _table);

    internal void Duplicates(int events) => DuplicatesCounter.Add(events, _table);

    // Static: any DeadLetterStore replays, with or without a consumer (the CLI has none). Rare, so the tag is made
    // each time.
    internal static void Replayed(EventTable table) => ReplayedCounter.Add(1, new KeyValuePair<string, object?>(TableTagName, TableTag(table)));

    internal void Retried() => RetriedCounter.Add(1, _table);

    internal void Batched(int events) => BatchSizeHistogram.Record(events, _table);

    // One COPY attempt ended; `started` is a Stopwatch timestamp. Measuring an interval, not reading the time
    // of day: nothing is scheduled or stamped with it.
    internal void CopyFinished(long started, Exception? error)
    {
        if (!CopyDurationHistogram.Enabled)
        {
            return;
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (error is null)
        {
            CopyDurationHistogram.Record(seconds, _table, new(OutcomeTagName, "committed"));
        }
        else
        {
            CopyDurationHistogram.Record(seconds, _table, new(OutcomeTagName, "failed"), new(ErrorTypeTagName, WriteFailures.ErrorType(error)));
        }
    }

    // From start to dispose, the consumer's buffer is reported on rxeventbus.queue.depth.
    internal void ObserveQueue(Func<int> depth) => Queues[this] = depth;

    public void Dispose() => Queues.TryRemove(this, out _);

    internal static KeyValuePair<string, object?>[] SubscriptionTags(string table, string? subscription) =>
        [new(TableTagName, table), new(SubscriptionTagName, subscription ?? "")];

    internal static void Delivered(KeyValuePair<string, object?>[] tags) => SubscriptionDeliveredCounter.Add(1, tags);

    // While a subscription reads, its held-back time is reported on rxeventbus.subscription.held_back.
    internal static IDisposable ObserveHeldBack(KeyValuePair<string, object?>[] tags, Func<double> seconds)
    {
        var key = new object();
        HeldBack[key] = (tags, seconds);
        return System.Reactive.Disposables.Disposable.Create(() => HeldBack.TryRemove(key, out _));
    }

    private static IEnumerable<Measurement<double>> ObserveHeldBack()
    {
        foreach (var (tags, seconds) in HeldBack.Values)
        {
            yield return new Measurement<double>(seconds(), tags);
        }
    }

    private static IEnumerable<Measurement<int>> ObserveQueues()
    {
        foreach (var (metrics, depth) in Queues)
        {
            yield return new Measurement<int>(depth(), metrics._table);
        }
    }
}
