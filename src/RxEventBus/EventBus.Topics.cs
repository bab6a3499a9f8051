using System.Text.RegularExpressions;
using RxEventBus.Internal;

namespace RxEventBus;

public sealed partial class EventBus
{
    /// <summary>The registered topics, in ordinal order.</summary>
    public IReadOnlyList<string> Topics
    {
        get
        {
            var topics = _topics.Keys.ToArray();
            Array.Sort(topics, StringComparer.Ordinal);
            return topics;
        }
    }

    /// <summary>
    /// Registers <paramref name="topic"/> (idempotent). Pattern subscriptions that match it start receiving it.
    /// </summary>
    /// <returns>True if the topic is new; false if it was already registered.</returns>
    /// <exception cref="ArgumentException">The name is empty, longer than 255 characters, or not printable.</exception>
    /// <exception cref="ObjectDisposedException">The bus is disposed.</exception>
    public bool RegisterTopic(string topic)
    {
        TopicName.Validate(topic, nameof(topic));
        List<(Subscription, Exception)>? failed = null;
        bool added;
        using (_gate.EnterScope())
        {
            ThrowIfDisposed();
            added = !_topics.ContainsKey(topic);
            if (added)
            {
                RegisterLocked(topic, ref failed);
            }
        }

        EndFailedPatterns(failed);
        return added;
    }

    /// <summary>
    /// Unregisters <paramref name="topic"/>: its <see cref="Topic(string)"/> subscriptions complete, pattern
    /// subscriptions stop receiving it, publishing to it fails again. Its pending events stay pending until
    /// their tracked subscribers answer them; then the bus holds nothing of the topic.
    /// </summary>
    /// <remarks>
    /// Never waits for a subscriber: a <see cref="Topic(string)"/> subscriber that is inside <c>OnNext</c> gets
    /// its <c>OnCompleted</c> when that <c>OnNext</c> returns, from the publishing thread, once and never
    /// overlapping it.
    /// </remarks>
    /// <returns>True if the topic was registered.</returns>
    public bool UnregisterTopic(string topic)
    {
        TopicName.Validate(topic, nameof(topic));
        List<Subscription> ended = [];
        using (_gate.EnterScope())
        {
            if (!_topics.TryGetValue(topic, out var hub))
            {
                return false;
            }

            hub.IsRegistered = false;
            _topics.TryRemove(topic, out _);
            Interlocked.CompareExchange(ref _lastHub, null, hub);

            foreach (var subscription in hub.Subscriptions)
            {
                subscription.Hubs.Remove(hub);
                if (subscription.Kind == SubscriptionKind.Topic)
                {
                    ended.Add(subscription);
                    RemoveLocked(subscription);
                }
            }

            hub.DetachAll();
        }

        foreach (var subscription in ended)
        {
            subscription.Terminate(null);
        }

        return true;
    }

    /// <summary>Whether <paramref name="topic"/> is registered.</summary>
    public bool TopicExists(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return _topics.ContainsKey(topic);
    }

    // The hub of a topic that a subscription or source is about to use: registered on first use if the bus
    // says so, else a clear error.
    private TopicHub HubLocked(string topic, ref List<(Subscription, Exception)>? failed)
    {
        if (_topics.TryGetValue(topic, out var hub))
        {
            return hub;
        }

        if (!Options.AutoRegisterTopics)
        {
            throw new TopicNotRegisteredException(topic);
        }

        return RegisterLocked(topic, ref failed);
    }

    private TopicHub RegisterLocked(string topic, ref List<(Subscription, Exception)>? failed)
    {
        var hub = new TopicHub(this, topic, _pending);
        foreach (var subscription in _patternSubscriptions)
        {
            try
            {
                if (MatcherOf(subscription).Matches(topic))
                {
                    AttachLocked(subscription, hub);
                }
            }
            catch (RegexMatchTimeoutException e)
            {
                (failed ??= []).Add((subscription, e));
            }
        }

        if (failed is not null)
        {
            foreach (var (subscription, _) in failed)
            {
                RemoveLocked(subscription);
            }
        }

        _topics[topic] = hub;
        return hub;
    }

    // A pattern whose regex timed out on a topic can no longer say which topics it wants: it ends with
    // OnError, and the fault is reported, rather than silently missing a topic.
    private void EndFailedPatterns(List<(Subscription Subscription, Exception Error)>? failed)
    {
        if (failed is null)
        {
            return;
        }

        foreach (var (subscription, error) in failed)
        {
            var ended = new InvalidOperationException(
                $"Subscription {subscription.Id} ended: its topic pattern took longer than the bus's RegexMatchTimeout " +
                $"({Options.RegexMatchTimeout}) on topic '{((RegexMatchTimeoutException)error).Input}'.",
                error);
            Report(new EventBusError(EventBusErrorOrigin.Pattern, Describe(subscription), null, ended));
            subscription.Terminate(ended);

            // Swept only once Terminate has recorded the ending, which stops the subscription at once (even
            // when its OnError must wait for an OnNext in progress), as Dispose does: a publish that read the
            // hub's subscribers before the removal and stores its entry after this sweep then finds it stopped
            // and skips the entry itself. Swept before, such an entry would be delivered and wait forever.
            (subscription as TrackedSubscription)?.SkipOwedEvents(_pending);
        }
    }

    private static TopicPatterns MatcherOf(Subscription subscription) => subscription switch
    {
        PatternSubscription pattern => pattern.Matcher,
        TrackedSubscription tracked => tracked.Matcher,
        _ => throw new InvalidOperationException("Only pattern subscriptions have patterns."),
    };
}
