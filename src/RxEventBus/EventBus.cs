using System.Collections.Concurrent;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using RxEventBus.Internal;

namespace RxEventBus;

/// <summary>
/// An in-process event bus where every topic is an <see cref="IObservable{T}"/>: Elixir <c>event_bus</c>'s
/// topics, regex subscriptions, tracked subscribers and event store, in Rx shape.
/// </summary>
/// <remarks>
/// <para>Thread-safe. <see cref="Publish(Event)"/> costs one topic lookup plus one call per subscriber of
/// that topic: patterns are matched when a subscription or topic is added, never per publish.</para>
/// <para>Delivery is synchronous on the publisher's thread. Each observer sees a topic's events in publish
/// order and never two notifications at once, whatever the number of publishing threads. A subscriber
/// that throws is reported on <see cref="Errors"/> and never reaches the publisher or other subscribers.
/// To handle events on a scheduler or a UI thread, use Rx's <c>ObserveOn</c> on the subscription.</para>
/// <para>Time comes only from <see cref="EventBusOptions.Scheduler"/>.</para>
/// </remarks>
public sealed partial class EventBus : IDisposable
{
    // Read lock-free by Publish; written under _gate.
    private readonly ConcurrentDictionary<string, TopicHub> _topics = new();

    // Publish's one-entry cache of the last hub it found (see EventBus.Publish.cs). Dropped when its topic is
    // unregistered or the bus disposed, so that it never keeps a departed hub alive.
    private TopicHub? _lastHub;

    // Every pending event of every topic, registered or not: one table, so nothing per topic outlives the
    // topic (see PendingTable).
    private readonly PendingTable _pending = new();

    // The structure lock: topics, subscriptions and hub subscriber arrays change only under it. User code
    // never runs under it, and no delivery lock is taken while holding it.
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Subscription> _subscriptions = [];
    private readonly List<Subscription> _patternSubscriptions = [];
    private readonly Dictionary<string, TrackedSubscription> _trackedByName = new(StringComparer.Ordinal);
    private long _lastSubscriptionId;

    private readonly Subject<EventBusError> _errors = new();
    private readonly Lock _errorsGate = new();
    private readonly Subject<EventRejection> _rejections = new();
    private readonly Lock _rejectionsGate = new();
    private volatile bool _disposed;

    /// <summary>Builds a bus.</summary>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <exception cref="ArgumentException">An option is invalid, or a topic in <see cref="EventBusOptions.Topics"/> is.</exception>
    public EventBus(EventBusOptions? options = null)
    {
        options ??= new EventBusOptions();
        options.Validate();
        Options = options;
        Errors = _errors.AsObservable();
        Rejections = _rejections.AsObservable();
        Diagnostics = new EventBusDiagnostics(this);
        foreach (var topic in options.Topics)
        {
            RegisterTopic(topic);
        }
    }

    /// <summary>The settings the bus was built with.</summary>
    public EventBusOptions Options { get; }

    /// <summary>The bus's clock and the default scheduler of time-based operators built on it.</summary>
    public IScheduler Scheduler => Options.Scheduler;

    /// <summary>
    /// Faults the bus caught: subscribers that threw, typed subscriptions that received a payload of another
    /// type, pattern subscriptions ended by a regex timeout, attached sources that failed. A subscriber's fault is
    /// sent during delivery, under the topic's delivery lock: an observer here must not publish. Hot; completes
    /// when the bus is disposed.
    /// </summary>
    public IObservable<EventBusError> Errors { get; }

    /// <summary>
    /// Events refused to their publisher: a subscriber threw <see cref="EventRejectedException"/> (one
    /// <see cref="EventRejection"/> per refusing subscriber), or the event's topic is not registered. The
    /// publisher gets the exception as before; this stream lets a log or an alert see refusals that publishers
    /// handle (or swallow). Sent on the publisher's thread, before <c>Publish</c> throws: a refusal by a subscriber as
    /// soon as it refuses, while the event is still being delivered (later subscribers have not received it yet,
    /// and the topic's delivery lock is held, so an observer here must not publish, nor wait on anything a
    /// publisher may hold); an observer that throws is ignored. An event that is invalid (no id, no data, an id still pending) or published after
    /// <see cref="Dispose"/> is an argument error, not a rejection, and does not appear here. Each rejection is
    /// also counted in the <c>rxeventbus.events.rejected</c> instrument. Hot; completes when the bus is disposed.
    /// </summary>
    public IObservable<EventRejection> Rejections { get; }

    /// <summary>Counts of live subscriptions and pending events, for tests and leak hunting.</summary>
    public EventBusDiagnostics Diagnostics { get; }

    /// <summary>
    /// Ends every subscription with <c>OnCompleted</c> and refuses further publishing and subscribing
    /// (<see cref="ObjectDisposedException"/>). Pending events stay readable and answerable.
    /// </summary>
    /// <remarks>
    /// Never waits for a subscriber: one that is inside <c>OnNext</c> — blocked there, perhaps, as a bounded
    /// consumer blocks its publisher when its buffer is full — gets its <c>OnCompleted</c> when that
    /// <c>OnNext</c> returns, from the thread that was delivering, once and never overlapping it. An observer
    /// that throws from <c>OnCompleted</c> is reported on <see cref="Errors"/> while that stream is open (it
    /// completes as <c>Dispose</c> returns).
    /// </remarks>
    public void Dispose()
    {
        Subscription[] ended;
        using (_gate.EnterScope())
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            ended = [.. _subscriptions.Values];
            foreach (var hub in _topics.Values)
            {
                hub.IsRegistered = false;
                hub.DetachAll();
            }

            foreach (var subscription in ended)
            {
                subscription.Hubs.Clear();
            }

            _topics.Clear();
            Volatile.Write(ref _lastHub, null);
            _subscriptions.Clear();
            _patternSubscriptions.Clear();
            _trackedByName.Clear();
        }

        foreach (var subscription in ended)
        {
            subscription.Terminate(null);
        }

        using (_errorsGate.EnterScope())
        {
            _errors.OnCompleted();
        }

        using (_rejectionsGate.EnterScope())
        {
            _rejections.OnCompleted();
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    internal void ReportSubscriberFault(Subscription subscription, Event? @event, Exception exception) =>
        Report(new EventBusError(EventBusErrorOrigin.Subscriber, Describe(subscription), @event, exception));

    internal void ReportRefusal(Subscription subscription, Event @event, EventRejectedException exception) =>
        Report(new EventRejection(EventRejectionReason.RefusedBySubscriber, @event, Describe(subscription), exception));

    // Serialized like Errors, so that an observer never sees two rejections at once from publishers on
    // different threads (the Rx contract).
    private void Report(EventRejection rejection)
    {
        BusMetrics.Rejected(rejection.Event.Topic, rejection.Reason);
        using (_rejectionsGate.EnterScope())
        {
            try
            {
                _rejections.OnNext(rejection);
            }
#pragma warning disable CA1031 // An observer of the rejection stream failed: the publisher is about to get its own exception, which this must not replace.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    private void Report(EventBusError error)
    {
        using (_errorsGate.EnterScope())
        {
            try
            {
                _errors.OnNext(error);
            }
#pragma warning disable CA1031 // An observer of the error stream failed: there is nowhere left to report it, and it must not reach a publisher.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }
}
