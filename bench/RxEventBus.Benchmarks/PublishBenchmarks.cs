using System.Reactive.Disposables;
using System.Reactive.Subjects;
using BenchmarkDotNet.Attributes;

namespace RxEventBus.Benchmarks;

/// <summary>
/// Issue 2's first target: <see cref="EventBus.Publish(Event)"/> to N subscribers of one topic against a raw
/// <see cref="Subject{T}.OnNext"/> to the same N subscribers (throughput ≥ 0.75 × Subject's at 8), with
/// 0 bytes allocated by the bus per publish.
/// </summary>
/// <remarks>
/// Both sides get the same subscribers: <c>Subscribe(e =&gt; _received++)</c>, which Rx wraps in the same
/// <c>AnonymousObserver</c>, so the difference is the bus's own path (checks, topic lookup, delivery lock,
/// per-subscriber dispatch). The event is built once in setup: re-publishing one event is fine for plain
/// subscribers (only tracked subscribers keep pending ids), and it keeps the caller's allocation out of
/// the Allocated column.
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
[MinColumn]
public class PublishBenchmarks
{
    private const string Topic = "orders";

    private readonly CompositeDisposable _subscriptions = [];
    private Subject<Event> _subject = null!;
    private EventBus _bus = null!;
    private Event _event = null!;
    private long _received;

    [Params(1, 8)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _subject = new Subject<Event>();
        _bus = new EventBus(new EventBusOptions { Topics = [Topic] });
        var topic = _bus.Topic(Topic);
        for (var i = 0; i < Subscribers; i++)
        {
            _subscriptions.Add(_subject.Subscribe(e => _received++));
            _subscriptions.Add(topic.Subscribe(e => _received++));
        }

        _event = _bus.CreateEvent(Topic, new OrderPlaced(42, 9.99m));

        // A benchmark of a bus that delivers to nobody would look splendid: check both sides fan out fully.
        _received = 0;
        SubjectOnNext();
        BusPublish();
        if (_received != 2 * Subscribers)
        {
            throw new InvalidOperationException($"Expected {2 * Subscribers} deliveries in setup, saw {_received}.");
        }
    }

    [Benchmark(Baseline = true, Description = "Subject<Event>.OnNext")]
    public void SubjectOnNext() => _subject.OnNext(_event);

    [Benchmark(Description = "EventBus.Publish")]
    public void BusPublish() => _bus.Publish(_event);

    [GlobalCleanup]
    public void Cleanup()
    {
        _subscriptions.Dispose();
        _subject.Dispose();
        _bus.Dispose();
    }
}
