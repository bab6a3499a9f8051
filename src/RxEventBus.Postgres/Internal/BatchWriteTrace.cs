using System.Diagnostics;

namespace RxEventBus.Postgres.Internal;

// The span of one batch write, from its first COPY attempt to its commit (or its last dead letter, or the
// cancellation that ended it), on the "RxEventBus" activity source. Without a listener StartActivity returns
// null and this only counts. A batch's attempts run one after another (halves too), so no field is shared
// between threads.
internal sealed class BatchWriteTrace : IDisposable
{
    internal const string ActivityName = "rxeventbus.batch.write";

    private static readonly ActivitySource Source = new(RxEventBusTelemetry.ActivitySourceName, typeof(BatchWriteTrace).Assembly.GetName().Version?.ToString());

    private readonly Activity? _activity;
    private readonly int _size;
    private int _attempts;
    private int _deadLettered;
    private bool _cancelled;

    internal BatchWriteTrace(EventTable table, int size)
    {
        _size = size;
        _activity = Source.StartActivity(ActivityName, ActivityKind.Internal);
        if (_activity is { IsAllDataRequested: true })
        {
            _activity.SetTag("db.system.name", "postgresql");
            _activity.SetTag("db.operation.name", "COPY");
            _activity.SetTag("db.collection.name", PersistenceMetrics.TableTag(table));
            _activity.SetTag("rxeventbus.batch.size", size);
        }
    }

    internal void Attempt() => _attempts++;

    internal void Retrying(int attempt, Exception error, TimeSpan delay) =>
        _activity?.AddEvent(new ActivityEvent("rxeventbus.batch.retry", tags: new ActivityTagsCollection
        {
            ["rxeventbus.batch.attempt"] = attempt,
            [PersistenceMetrics.ErrorTypeTagName] = WriteFailures.ErrorType(error),
            ["rxeventbus.retry.delay_ms"] = delay.TotalMilliseconds,
        }));

    internal void DeadLettered() => _deadLettered++;

    internal void Cancelled() => _cancelled = true;

    public void Dispose()
    {
        if (_activity is null)
        {
            return;
        }

        var outcome = _cancelled ? "cancelled"
            : _deadLettered == 0 ? "committed"
            : _deadLettered == _size ? "dead_lettered"
            : "partially_committed";
        _activity.SetTag("rxeventbus.batch.attempts", _attempts);
        _activity.SetTag("rxeventbus.batch.dead_lettered", _deadLettered);
        _activity.SetTag("rxeventbus.batch.outcome", outcome);
        if (_cancelled)
        {
            _activity.SetStatus(ActivityStatusCode.Error, "The consumer stopped before the batch was committed.");
        }
        else if (_deadLettered == _size)
        {
            _activity.SetStatus(ActivityStatusCode.Error, "No row of the batch could be written; all were dead-lettered.");
        }
        else
        {
            _activity.SetStatus(ActivityStatusCode.Ok);
        }

        _activity.Dispose();
    }
}
