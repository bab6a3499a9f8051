using System.Reactive.Disposables;
using System.Text.RegularExpressions;
using RxEventBus.Internal;

namespace RxEventBus;

public sealed partial class EventBus
{
    /// <summary>
    /// The hot stream of <paramref name="topic"/>: each subscription receives the events published after it
    /// subscribed, and completes when the topic is unregistered or the bus disposed. Dispose the
    /// subscription to unsubscribe.
    /// </summary>
    /// <exception cref="ArgumentException">The topic name is invalid.</exception>
    /// <exception cref="TopicNotRegisteredException">The topic is not registered (and the bus does not register
    /// topics on first use).</exception>
    /// <exception cref="ObjectDisposedException">The bus is disposed.</exception>
    public IObservable<Event> Topic(string topic)
    {
        EnsureTopic(topic);
        return new BusObservable<Event>(observer =>
            SubscribeToTopic(topic, observer, (id, hub) => new TopicSubscription(this, id, hub, observer)));
    }

    /// <summary>
    /// The typed view of <paramref name="topic"/>. An event whose payload is not a <typeparamref name="T"/>
    /// is not delivered; it is reported on <see cref="Errors"/> and the subscription goes on.
    /// </summary>
    /// <inheritdoc cref="Topic(string)" path="/exception"/>
    public IObservable<Event<T>> Topic<T>(string topic)
    {
        EnsureTopic(topic);
        return new BusObservable<Event<T>>(observer =>
            SubscribeToTopic(topic, observer, (id, hub) => new TypedTopicSubscription<T>(this, id, hub, observer)));
    }

    /// <summary>
    /// The hot stream of every topic matching one of <paramref name="patterns"/> — now or registered later —
    /// with <c>event_bus</c>'s semantics: each pattern is anchored at the start of the topic name, as if written
    /// <c>^(pattern)</c> (<c>".*"</c> is every topic, <c>"purchase_"</c> any topic starting with it,
    /// <c>"booking_confirmed$"</c> only that topic; <c>"received"</c> does not match <c>"metrics_received"</c>,
    /// <c>".*received$"</c> does). Each pattern of the list is anchored on its own and as a whole: <c>"a|b"</c>
    /// matches <c>"b_topic"</c>, not <c>"x_b"</c>. Patterns are matched when a subscription or topic is added,
    /// never per publish.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="patterns"/> is null.</exception>
    /// <exception cref="ArgumentException">No pattern is given, or one is empty or not a valid regex (the
    /// message names it).</exception>
    /// <exception cref="ObjectDisposedException">The bus is disposed.</exception>
    public IObservable<Event> Match(params string[] patterns)
    {
        var matcher = new TopicPatterns(patterns, Options.RegexMatchTimeout, nameof(patterns));
        ThrowIfDisposed();
        return new BusObservable<Event>(observer =>
            SubscribeToPatterns(observer, id => new PatternSubscription(this, id, matcher, observer)));
    }

    /// <summary>Every live subscription, in subscription order.</summary>
    public IReadOnlyList<SubscriberInfo> Subscribers()
    {
        using (_gate.EnterScope())
        {
            return [.. _subscriptions.Values.OrderBy(s => s.Id).Select(DescribeLocked)];
        }
    }

    /// <summary>
    /// The live subscriptions receiving <paramref name="topic"/>, in subscription order; empty for a topic that
    /// is not registered. Asking about a topic is not using it: only <see cref="Publish(Event)"/>,
    /// <see cref="Topic(string)"/>, <see cref="Topic{T}(string)"/> and <see cref="Attach{T}(string, IObservable{T})"/>
    /// refuse an unregistered one.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="topic"/> is null.</exception>
    public IReadOnlyList<SubscriberInfo> Subscribers(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        using (_gate.EnterScope())
        {
            return _topics.TryGetValue(topic, out var hub)
                ? [.. hub.Subscriptions.OrderBy(s => s.Id).Select(DescribeLocked)]
                : [];
        }
    }

    private void EnsureTopic(string topic)
    {
        TopicName.Validate(topic, nameof(topic));
        ThrowIfDisposed();
        if (!Options.AutoRegisterTopics && !_topics.ContainsKey(topic))
        {
            throw new TopicNotRegisteredException(topic);
        }
    }

    private IDisposable SubscribeToTopic<T>(
        string topic, IObserver<T> observer, Func<long, TopicHub, Subscription> create)
    {
        List<(Subscription, Exception)>? failed = null;
        Subscription? subscription = null;
        Exception? failure = null;
        using (_gate.EnterScope())
        {
            if (!_disposed)
            {
                try
                {
                    var hub = HubLocked(topic, ref failed);
                    subscription = create(++_lastSubscriptionId, hub);
                    _subscriptions.Add(subscription.Id, subscription);
                    AttachLocked(subscription, hub);
                }
                catch (TopicNotRegisteredException e)
                {
                    // Unregistered between Topic(...) and Subscribe: Rx reports a failed subscription as OnError.
                    failure = e;
                }
            }
        }

        EndFailedPatterns(failed);
        return subscription ?? EndAtOnce(observer, failure);
    }

    private IDisposable SubscribeToPatterns<T>(IObserver<T> observer, Func<long, Subscription> create)
    {
        Subscription? subscription = null;
        Exception? failure = null;
        using (_gate.EnterScope())
        {
            if (!_disposed)
            {
                subscription = create(++_lastSubscriptionId);
                failure = AddPatternSubscriptionLocked(subscription);
            }
        }

        return subscription is not null && failure is null ? subscription : EndAtOnce(observer, failure);
    }

    private Exception? AddPatternSubscriptionLocked(Subscription subscription)
    {
        if (subscription is TrackedSubscription tracked && !_trackedByName.TryAdd(tracked.Name, tracked))
        {
            return new InvalidOperationException(
                $"A tracked subscriber named '{tracked.Name}' is already subscribed. Names identify tracked " +
                "subscribers when they answer events, so each must be unique: dispose the other one first.");
        }

        _subscriptions.Add(subscription.Id, subscription);
        _patternSubscriptions.Add(subscription);
        var matcher = MatcherOf(subscription);
        foreach (var hub in _topics.Values)
        {
            try
            {
                if (matcher.Matches(hub.Name))
                {
                    AttachLocked(subscription, hub);
                }
            }
            catch (RegexMatchTimeoutException e)
            {
                RemoveLocked(subscription);
                return new ArgumentException(
                    $"Topic pattern took longer than the bus's RegexMatchTimeout ({Options.RegexMatchTimeout}) on topic " +
                    $"'{e.Input}'; the subscription was not made. Simplify the pattern.", e);
            }
        }

        return null;
    }

    // A subscription that cannot be made ends at once, the Rx way: OnError with the reason, or OnCompleted
    // when the bus is disposed (like subscribing to a completed subject).
    private static IDisposable EndAtOnce<T>(IObserver<T> observer, Exception? error)
    {
        if (error is null)
        {
            observer.OnCompleted();
        }
        else
        {
            observer.OnError(error);
        }

        return Disposable.Empty;
    }

    private static void AttachLocked(Subscription subscription, TopicHub hub)
    {
        hub.Attach(subscription);
        subscription.Hubs.Add(hub);
    }

    // Idempotent: a subscription may be removed by its own Dispose and by the bus in the same breath.
    private void RemoveLocked(Subscription subscription)
    {
        if (!_subscriptions.Remove(subscription.Id))
        {
            return;
        }

        _patternSubscriptions.Remove(subscription);
        if (subscription is TrackedSubscription tracked &&
            _trackedByName.TryGetValue(tracked.Name, out var current) && current == tracked)
        {
            _trackedByName.Remove(tracked.Name);
        }

        foreach (var hub in subscription.Hubs)
        {
            hub.Detach(subscription);
        }

        subscription.Hubs.Clear();
    }

    // A subscription the user disposed (it is stopped already).
    internal void Remove(Subscription subscription)
    {
        using (_gate.EnterScope())
        {
            RemoveLocked(subscription);
        }

        // Outside the lock: a departed tracked subscriber skips what it still owes, so nothing waits for it.
        (subscription as TrackedSubscription)?.SkipOwedEvents(_pending);
    }

    private SubscriberInfo Describe(Subscription subscription)
    {
        using (_gate.EnterScope())
        {
            return DescribeLocked(subscription);
        }
    }

    private SubscriberInfo DescribeLocked(Subscription subscription) =>
        subscription.Describe([.. subscription.Hubs.Select(h => h.Name).Order(StringComparer.Ordinal)]);

    internal int CountSubscriptions()
    {
        using (_gate.EnterScope())
        {
            return _subscriptions.Count;
        }
    }

    internal int CountSubscriptions(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return _topics.TryGetValue(topic, out var hub) ? hub.Count : 0;
    }

    internal IReadOnlyDictionary<string, int> CountSubscriptionsPerTopic() =>
        _topics.ToDictionary(pair => pair.Key, pair => pair.Value.Count, StringComparer.Ordinal);

    internal int CountPending() => _pending.Count;
}
