using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace RxEventBus.Dashboard.Internal;

/// <summary>
/// What the live stream takes from the RxEventBus meter while one client watches: events published per topic
/// (<c>rxeventbus.events.published</c>), and the last batch size and COPY duration of the consumer's table
/// (<c>rxeventbus.batch.size</c>, <c>rxeventbus.copy.duration</c>). The instruments are process-wide, so the
/// publish counts are those of every bus in the process on the topics of this one; the consumer's are told apart
/// by their <c>table</c> tag. Listening only while a stream is open keeps publishing free of it otherwise.
/// </summary>
internal sealed class LiveMeters : IDisposable
{
    private const string Published = "rxeventbus.events.published";
    private const string BatchSize = "rxeventbus.batch.size";
    private const string CopyDuration = "rxeventbus.copy.duration";

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _published = new(StringComparer.Ordinal);
    private readonly string? _table;
    private long _lastBatchSize = -1;
    private long _lastCopyMicroseconds = -1;

    public LiveMeters(string? tableTag)
    {
        _table = tableTag;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == RxEventBusTelemetry.MeterName && instrument.Name is Published or BatchSize or CopyDuration)
            {
                listener.EnableMeasurementEvents(instrument, this);
            }
        };
        _listener.SetMeasurementEventCallback<long>(static (instrument, value, tags, state) => ((LiveMeters)state!).Record(instrument.Name, value, tags));
        _listener.SetMeasurementEventCallback<int>(static (instrument, value, tags, state) => ((LiveMeters)state!).Record(instrument.Name, value, tags));
        _listener.SetMeasurementEventCallback<double>(static (instrument, value, tags, state) => ((LiveMeters)state!).Record(instrument.Name, value, tags));
        _listener.Start();
    }

    public long PublishedOn(string topic) => _published.TryGetValue(topic, out var count) ? count : 0;

    public long? LastBatchSize => Interlocked.Read(ref _lastBatchSize) is var size and >= 0 ? size : null;

    public double? LastCopyMilliseconds => Interlocked.Read(ref _lastCopyMicroseconds) is var us and >= 0 ? us / 1000.0 : null;

    private void Record(string instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (instrument == Published)
        {
            if (Tag(tags, "topic") is { } topic)
            {
                _published.AddOrUpdate(topic, static (_, add) => add, static (_, count, add) => count + add, (long)value);
            }

            return;
        }

        if (_table is null || Tag(tags, "table") != _table)
        {
            return;
        }

        if (instrument == BatchSize)
        {
            Interlocked.Exchange(ref _lastBatchSize, (long)value);
        }
        else
        {
            Interlocked.Exchange(ref _lastCopyMicroseconds, (long)(value * 1_000_000));
        }
    }

    private static string? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == name)
            {
                return tag.Value as string;
            }
        }

        return null;
    }

    public void Dispose() => _listener.Dispose();
}
