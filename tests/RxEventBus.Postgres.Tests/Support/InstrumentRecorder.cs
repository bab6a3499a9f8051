using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RxEventBus.Postgres.Tests.Support;

/// <summary>
/// Records what the RxEventBus meter and activity source report about one table. Instruments are
/// process-wide and test classes run in parallel, so only measurements tagged with this table (and spans
/// about it) are kept.
/// </summary>
internal sealed class InstrumentRecorder : IDisposable
{
    private readonly string _table;
    private readonly MeterListener _meters;
    private readonly ActivityListener _activities;

    internal InstrumentRecorder(string schema, string table)
    {
        _table = $"{schema}.{table}";
        _meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == RxEventBusTelemetry.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meters.SetMeasurementEventCallback<long>((i, value, tags, _) => Keep(i, value, tags));
        _meters.SetMeasurementEventCallback<int>((i, value, tags, _) => Keep(i, value, tags));
        _meters.SetMeasurementEventCallback<double>((i, value, tags, _) => Keep(i, value, tags));
        _meters.Start();

        _activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RxEventBusTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem("db.collection.name") as string == _table)
                {
                    Activities.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(_activities);
    }

    internal ConcurrentQueue<Measured> Measurements { get; } = new();

    internal ConcurrentQueue<Activity> Activities { get; } = new();

    /// <summary>The measurements of one instrument, in the order they were made.</summary>
    internal IReadOnlyList<Measured> Of(string instrument) => [.. Measurements.Where(m => m.Instrument == instrument)];

    internal double Sum(string instrument) => Of(instrument).Sum(m => m.Value);

    /// <summary>Asks every observable instrument for its value now (they report only when asked).</summary>
    internal void Observe() => _meters.RecordObservableInstruments();

    public void Dispose()
    {
        _meters.Dispose();
        _activities.Dispose();
    }

    private void Keep<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        where T : struct, IConvertible
    {
        var kept = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            kept[tag.Key] = tag.Value;
        }

        if (kept.TryGetValue("table", out var table) && table as string == _table)
        {
            Measurements.Enqueue(new Measured(instrument.Name, instrument.Unit, value.ToDouble(null), kept));
        }
    }

    internal sealed record Measured(string Instrument, string? Unit, double Value, IReadOnlyDictionary<string, object?> Tags);
}
