using BenchmarkDotNet.Attributes;

namespace RxEventBus.Benchmarks;

/// <summary>
/// What a tracked subscriber adds to a publish: the pending entry stored before delivery, the delivery under
/// the subscriber's own lock, and the answer that drops the entry again — the path every event of a persisted
/// topic takes. <see cref="Tracked"/> false is the same topic with one plain <c>Topic</c> subscriber instead.
/// </summary>
/// <remarks>
/// The tracked subscriber answers inside <c>OnNext</c> (<c>MarkCompleted</c>), so the entry is gone before
/// <c>Publish</c> returns and re-publishing the one event built in setup is allowed (a pending id may not be
/// published twice). Setup publishes once and fails unless the subscriber received it and nothing is pending.
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
[MinColumn]
public class TrackedPublishBenchmarks
{
    private long _answered;
    private EventBus _bus = null!;
    private IDisposable? _subscription;
    private Event _event = null!;

    [Params(false, true)]
    public bool Tracked { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _bus = new EventBus(new EventBusOptions { Topics = ["orders"] });
        _subscription = Tracked
            ? _bus.Tracked("auditor", "orders$").Subscribe(e =>
            {
                _answered++;
                e.MarkCompleted();
            })
            : _bus.Topic("orders").Subscribe(e => _answered++);
        _event = _bus.CreateEvent("orders", new OrderPlaced(42, 9.99m));

        Publish();
        if (_answered != 1 || _bus.Diagnostics.PendingEvents != 0)
        {
            throw new InvalidOperationException(
                $"Expected 1 delivery and nothing pending in setup, saw {_answered} and {_bus.Diagnostics.PendingEvents}.");
        }
    }

    [Benchmark(Description = "EventBus.Publish, 1 subscriber")]
    public void Publish() => _bus.Publish(_event);

    [GlobalCleanup]
    public void Cleanup()
    {
        _subscription?.Dispose();
        _bus.Dispose();
    }
}
