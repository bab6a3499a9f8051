using System.Reactive;
using Microsoft.Reactive.Testing;

namespace RxEventBus.Testing;

/// <summary>
/// What one subscription to the bus received, each notification with the virtual time it came at — a
/// <see cref="ITestableObserver{T}"/> that <see cref="TestEventBus"/> subscribed for you, with the payloads
/// ready to compare.
/// </summary>
/// <typeparam name="T">The payload type; <see cref="object"/> for recordings of any payload.</typeparam>
/// <remarks>
/// A recorder of <see cref="TestEventBus.Record{T}(string)"/> that sees a payload of another type does not
/// skip it silently: reading <see cref="Messages"/> (and so <see cref="Data"/>, <see cref="Events"/>,
/// <see cref="Project{TResult}"/>) throws, naming the type it saw.
/// Events carry ids made at publish time, so a test rarely knows them in advance: compare
/// <see cref="Data"/> (<c>recorder.Data.AssertEqual(OnNext(210, new Order(1)))</c>), or project what matters
/// with <see cref="Project{TResult}"/>. Dispose the recorder to stop recording; what it recorded stays.
/// </remarks>
public sealed class EventRecorder<T> : ITestableObserver<Event<T>>, IDisposable
{
    private readonly TestScheduler _scheduler;
    private readonly ITestableObserver<Event<T>> _observer;
    private readonly string _source;
    private string? _mismatch;
    private IDisposable? _subscription;

    internal EventRecorder(TestScheduler scheduler, string source)
    {
        _scheduler = scheduler;
        _observer = scheduler.CreateObserver<Event<T>>();
        _source = source;
    }

    /// <summary>Every notification received, with its virtual time, as the bus delivered it.</summary>
    /// <exception cref="InvalidOperationException">The recorded topic carried a payload that is not a
    /// <typeparamref name="T"/>; the message says which type, when, and in which event.</exception>
    public IList<Recorded<Notification<Event<T>>>> Messages =>
        _mismatch is null ? _observer.Messages : throw new InvalidOperationException(_mismatch);

    /// <summary>
    /// <see cref="Messages"/> with each event replaced by its payload: a new list each time, comparable with
    /// <c>AssertEqual(OnNext(time, payload), …, OnCompleted&lt;T&gt;(time))</c>.
    /// </summary>
    public IList<Recorded<Notification<T>>> Data => Messages.Data();

    /// <summary>The events received so far, in order, without their times.</summary>
    public IReadOnlyList<Event<T>> Events =>
        [.. Messages.Where(m => m.Value.Kind == NotificationKind.OnNext).Select(m => m.Value.Value)];

    /// <summary>
    /// <see cref="Messages"/> with each event replaced by <paramref name="selector"/>'s result, for a test that
    /// checks more than the payload (its topic, source, transaction id, or times).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="selector"/> is null.</exception>
    public IList<Recorded<Notification<TResult>>> Project<TResult>(Func<Event<T>, TResult> selector) => Messages.Project(selector);

    /// <inheritdoc/>
    public void OnNext(Event<T> value) => _observer.OnNext(value);

    /// <inheritdoc/>
    public void OnError(Exception error) => _observer.OnError(error);

    /// <inheritdoc/>
    public void OnCompleted() => _observer.OnCompleted();

    /// <summary>Stops recording: the subscription is released; <see cref="Messages"/> keeps what came before.</summary>
    public void Dispose() => Interlocked.Exchange(ref _subscription, null)?.Dispose();

    internal void Attach(IDisposable subscription) => _subscription = subscription;

    // An event this recorder cannot hold: remembered (the first one) so that reading the recording fails with
    // a message a test author can act on, rather than the event vanishing from the recording.
    internal void Mismatch(Event @event) => _mismatch ??=
        $"{_source} saw, at virtual time {_scheduler.Clock}, event {@event.Id} of topic '{@event.Topic}' whose payload is a " +
        $"{@event.Data.GetType().FullName}, not a {typeof(T).FullName}. Publish the type it records, or record the topic " +
        "with Record(topic) to see every payload.";
}
