using System.Reactive;
using System.Reactive.Concurrency;
using Microsoft.Reactive.Testing;

namespace RxEventBus.Testing;

/// <summary>
/// An <see cref="EventBus"/> whose only clock is a <see cref="TestScheduler"/>, with recorders of what its
/// topics emit: hand <see cref="Bus"/> to the code under test, publish at virtual times with
/// <see cref="PublishAt{T}(long, string, T)"/>, run the <see cref="Scheduler"/>, then compare what a
/// recorder saw with <c>ReactiveAssert.AssertEqual</c> (<c>recorder.Data.AssertEqual(OnNext(210, order))</c>).
/// </summary>
/// <remarks>
/// <para>Every timestamp the bus stamps, every id it makes and every time-based operator built on
/// <see cref="EventBus.Scheduler"/> follows the virtual clock, so a test of timeouts, delays or batching runs
/// in no real time and gives the same result every run. Built from topics alone, it runs on a
/// <see cref="UnixEpochTestScheduler"/>, whose clock reads the Unix epoch at tick 0, so that ids carry the
/// virtual time and sort by it.</para>
/// <para>Like <see cref="TestScheduler"/>, not thread-safe: drive it from the test's thread.</para>
/// </remarks>
public sealed class TestEventBus : IDisposable
{
    private readonly List<IDisposable> _recordings = [];

    /// <summary>
    /// A bus on a new <see cref="UnixEpochTestScheduler"/>, with <paramref name="topics"/> registered: at virtual
    /// time <c>t</c> (ticks, as Rx tests count them) the bus's clock reads 1970-01-01 + <c>t</c>, so an event's
    /// <see cref="Event.OccurredAt"/> is that time and its id encodes it.
    /// </summary>
    /// <param name="topics">Topics to register; publishing to any other fails, as it does on a default bus.</param>
    /// <exception cref="ArgumentException">A topic name is invalid.</exception>
    public TestEventBus(params string[] topics)
        : this(new UnixEpochTestScheduler(), topics)
    {
    }

    /// <summary>A bus on <paramref name="scheduler"/>, shared with other virtual-time sources of the test.</summary>
    /// <remarks>The bus keeps that scheduler's clock. A plain <see cref="TestScheduler"/> reads 0001-01-01 at
    /// tick 0, and the default id generator makes ids of the Unix epoch for every time before 1970, so such ids
    /// do not sort by time; pass a <see cref="UnixEpochTestScheduler"/> where that matters.</remarks>
    /// <param name="scheduler">The virtual clock.</param>
    /// <param name="topics">Topics to register.</param>
    /// <exception cref="ArgumentNullException"><paramref name="scheduler"/> is null.</exception>
    /// <exception cref="ArgumentException">A topic name is invalid.</exception>
    public TestEventBus(TestScheduler scheduler, params string[] topics)
        : this(new EventBusOptions { Scheduler = scheduler ?? throw new ArgumentNullException(nameof(scheduler)), Topics = topics ?? [] })
    {
    }

    /// <summary>A bus built with <paramref name="options"/>, whose scheduler must be a <see cref="TestScheduler"/>.</summary>
    /// <remarks>The bus keeps that scheduler's clock, as <see cref="TestEventBus(TestScheduler, string[])"/> does.</remarks>
    /// <param name="options">The bus's settings, for tests of ids, default ttl or source, or auto-registered topics.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException"><see cref="EventBusOptions.Scheduler"/> is not a <see cref="TestScheduler"/>,
    /// or an option is invalid.</exception>
    public TestEventBus(EventBusOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Scheduler = options.Scheduler as TestScheduler ?? throw new ArgumentException(
            $"A TestEventBus runs on virtual time: EventBusOptions.Scheduler must be a TestScheduler, not {options.Scheduler?.GetType().Name ?? "null"}.",
            nameof(options));
        Bus = new EventBus(options);
    }

    /// <summary>
    /// The virtual clock, for what the kit does not wrap (<c>ScheduleAbsolute</c>, <c>CreateHotObservable</c>,
    /// <c>Start(() =&gt; observable)</c>). Move time with the kit's <see cref="Start()"/>, <see cref="AdvanceBy(TimeSpan)"/>
    /// and <see cref="AdvanceTo(TimeSpan)"/>, which count in <see cref="TimeSpan"/> like <see cref="PublishAt{T}(TimeSpan, string, T)"/>
    /// and <see cref="VirtualTimeTest"/>'s <c>OnNext</c>.
    /// </summary>
    public TestScheduler Scheduler { get; }

    /// <summary>The bus, to hand to the code under test.</summary>
    public EventBus Bus { get; }

    /// <summary>
    /// Records the events of <paramref name="topic"/> from now on, typed. An event whose payload is not a
    /// <typeparamref name="T"/> is not skipped silently: from then on, reading the recorder's
    /// <see cref="EventRecorder{T}.Messages"/> (or <see cref="EventRecorder{T}.Data"/>, …) throws an
    /// <see cref="InvalidOperationException"/> naming the payload's type, the virtual time and the event, so the
    /// test fails where it looks at the recording.
    /// </summary>
    /// <returns>The recorder: <see cref="EventRecorder{T}.Messages"/> as the bus delivered them,
    /// <see cref="EventRecorder{T}.Data"/> as payloads. It completes when the topic is unregistered.</returns>
    /// <exception cref="ArgumentException">The topic name is invalid.</exception>
    /// <exception cref="TopicNotRegisteredException">The topic is not registered.</exception>
    public EventRecorder<T> Record<T>(string topic)
    {
        var recorder = new EventRecorder<T>(Scheduler, $"Record<{typeof(T).Name}>(\"{topic}\")");
        // The untyped topic, so the recorder sees an event of the wrong type rather than the bus dropping it
        // before delivery (as Topic<T> does, reporting only on Errors).
        recorder.Attach(Bus.Topic(topic).Subscribe(
            e =>
            {
                if (e.Data is T)
                {
                    recorder.OnNext(e.As<T>());
                }
                else
                {
                    recorder.Mismatch(e);
                }
            },
            recorder.OnError,
            recorder.OnCompleted));
        return Keep(recorder);
    }

    /// <summary>Records the events of <paramref name="topic"/> from now on, whatever their payload.</summary>
    /// <inheritdoc cref="Record{T}(string)" path="/exception"/>
    public EventRecorder<object> Record(string topic) => Record<object>(topic);

    /// <summary>
    /// Records, from now on, the events of every topic matching one of <paramref name="patterns"/> (regexes
    /// matched at the start of the name, as in <see cref="EventBus.Match"/>: <c>"purchase_"</c> records
    /// <c>purchase_made</c>, <c>".*_refund$"</c> records <c>card_refund</c>), now or registered later.
    /// </summary>
    /// <exception cref="ArgumentException">No pattern is given, or one is not a valid regex.</exception>
    public EventRecorder<object> RecordAll(params string[] patterns)
    {
        var recorder = new EventRecorder<object>(Scheduler, "RecordAll");
        recorder.Attach(Bus.Match(patterns).Subscribe(
            e => recorder.OnNext(e.As<object>()),
            recorder.OnError,
            recorder.OnCompleted));
        return Keep(recorder);
    }

    /// <summary>
    /// Records, from now on, the faults the bus catches: subscribers that threw, payloads of the wrong type,
    /// failed attached sources (see <see cref="EventBus.Errors"/>).
    /// </summary>
    public ITestableObserver<EventBusError> RecordErrors()
    {
        var observer = Scheduler.CreateObserver<EventBusError>();
        _recordings.Add(Bus.Errors.Subscribe(observer));
        return observer;
    }

    /// <summary>
    /// Publishes <paramref name="data"/> to <paramref name="topic"/> when the virtual clock reaches
    /// <paramref name="ticks"/> (absolute), as <see cref="EventBus.Publish{T}(string, T)"/> would then: its
    /// <see cref="Event.OccurredAt"/> is the scheduler's <c>Now</c> at that time (on a
    /// <see cref="UnixEpochTestScheduler"/>, the epoch plus <paramref name="ticks"/>).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="topic"/> or <paramref name="data"/> is null.</exception>
    public void PublishAt<T>(long ticks, string topic, T data)
        where T : notnull
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(data);
        Scheduler.ScheduleAbsolute((Bus, topic, data), ticks, static (_, state) =>
        {
            state.Bus.Publish(state.topic, state.data);
            return System.Reactive.Disposables.Disposable.Empty;
        });
    }

    /// <summary>
    /// Publishes <paramref name="data"/> to <paramref name="topic"/> when the virtual clock reaches
    /// <paramref name="at"/>, counted from the scheduler's start.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="topic"/> or <paramref name="data"/> is null.</exception>
    public void PublishAt<T>(TimeSpan at, string topic, T data)
        where T : notnull => PublishAt(at.Ticks, topic, data);

    /// <summary>The virtual time since the scheduler's start: its <c>Clock</c> as a <see cref="TimeSpan"/>.</summary>
    public TimeSpan Elapsed => TimeSpan.FromTicks(Scheduler.Clock);

    /// <summary>
    /// Runs the clock until nothing is left to do: every scheduled publish, timer and delay, in virtual-time order.
    /// </summary>
    /// <remarks>
    /// Never returns while something keeps scheduling work forever — an <c>Observable.Interval</c>, a time-based
    /// <c>Buffer</c> or <c>Window</c>, a periodic cleaner — since there is always a next tick. While such an
    /// operator is subscribed, move the clock with <see cref="AdvanceBy(TimeSpan)"/> or
    /// <see cref="AdvanceTo(TimeSpan)"/> instead, or dispose its subscription first.
    /// </remarks>
    public void Start() => Scheduler.Start();

    /// <summary>Runs everything due within the next <paramref name="time"/> of virtual time.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="time"/> is negative.</exception>
    public void AdvanceBy(TimeSpan time) => Scheduler.AdvanceBy(time.Ticks);

    /// <summary>Runs everything due up to <paramref name="time"/>, counted from the scheduler's start.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="time"/> is before <see cref="Elapsed"/>.</exception>
    public void AdvanceTo(TimeSpan time) => Scheduler.AdvanceTo(time.Ticks);

    /// <summary>Stops every recording (what was recorded stays readable), then disposes the bus.</summary>
    public void Dispose()
    {
        foreach (var recording in _recordings)
        {
            recording.Dispose();
        }

        _recordings.Clear();
        Bus.Dispose();
    }

    private EventRecorder<T> Keep<T>(EventRecorder<T> recorder)
    {
        _recordings.Add(recorder);
        return recorder;
    }
}
