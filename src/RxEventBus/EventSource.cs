using System.Diagnostics.CodeAnalysis;

namespace RxEventBus;

/// <summary>
/// Wraps the code that produces an event's data: <see cref="Event.InitializedAt"/> is stamped before it runs and
/// <see cref="Event.OccurredAt"/> after, both from the bus's scheduler; id, source and ttl come from the
/// <see cref="EventSourceParams"/> or the bus's options, and the transaction id from the params or else the
/// event's own id (an event that is not part of a larger operation is its own transaction).
/// </summary>
/// <remarks>
/// <para><b>What "fails" means.</b> The function fails when it throws, or when it returns null (an event must
/// carry data). On failure, if <see cref="EventSourceParams.ErrorTopic"/> is set, an event whose data is an
/// <see cref="EventFailure"/> is built for that topic, stamped as the event would have been (id, times, source,
/// ttl, and a transaction id that defaults to its own id); then
/// <c>Notify</c> publishes it and rethrows the original exception, so the caller still sees it, as
/// <c>event_bus</c>'s caller still gets its <c>{:error, _}</c>. A cancellation of the async form's token is
/// not a failure: it is only rethrown.</para>
/// </remarks>
public static class EventSource
{
    /// <summary>
    /// Runs <paramref name="produce"/> and returns the event for its result, unpublished. On failure with an
    /// error topic, returns the error event instead; without one, throws.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static Event Build<T>(this EventBus bus, string topic, Func<T> produce, EventSourceParams? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(produce);
        parameters ??= Defaults;
        var initializedAt = bus.Scheduler.Now;
        T data;
        try
        {
            data = produce();
        }
        catch (Exception e) when (parameters.ErrorTopic is not null)
        {
            return Stamp(bus, parameters.ErrorTopic, Failure(topic, e), parameters, initializedAt);
        }

        if (data is null)
        {
            var e = NullResult(topic);
            return parameters.ErrorTopic is null
                ? throw e
                : Stamp(bus, parameters.ErrorTopic, Failure(topic, e), parameters, initializedAt);
        }

        return Stamp(bus, topic, data, parameters, initializedAt);
    }

    /// <summary>
    /// Runs <paramref name="produce"/>, publishes the event for its result and returns the result. On failure,
    /// publishes to the error topic (if any) and rethrows.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <inheritdoc cref="EventBus.Publish(Event)" path="/exception"/>
    public static T Notify<T>(this EventBus bus, string topic, Func<T> produce, EventSourceParams? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(produce);
        parameters ??= Defaults;
        var initializedAt = bus.Scheduler.Now;
        T data;
        try
        {
            data = produce();
        }
        catch (Exception e)
        {
            PublishFailure(bus, topic, e, parameters, initializedAt);
            throw;
        }

        if (data is null)
        {
            ThrowForNull(bus, topic, parameters, initializedAt);
        }

        bus.Publish(Stamp(bus, topic, data, parameters, initializedAt));
        return data;
    }

    /// <summary>
    /// The asynchronous form of <see cref="Notify{T}"/>: awaits <paramref name="produce"/>, publishes the event
    /// for its result and returns the result.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <inheritdoc cref="EventBus.Publish(Event)" path="/exception"/>
    public static async Task<T> NotifyAsync<T>(
        this EventBus bus,
        string topic,
        Func<CancellationToken, Task<T>> produce,
        EventSourceParams? parameters = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(produce);
        parameters ??= Defaults;
        var initializedAt = bus.Scheduler.Now;
        T data;
        try
        {
            data = await produce(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            PublishFailure(bus, topic, e, parameters, initializedAt);
            throw;
        }

        if (data is null)
        {
            ThrowForNull(bus, topic, parameters, initializedAt);
        }

        bus.Publish(Stamp(bus, topic, data, parameters, initializedAt));
        return data;
    }

    private static readonly EventSourceParams Defaults = new();

    // Publishes the failure event, if there is an error topic; the caller then rethrows the original. Not
    // an exception filter: an exception thrown inside a filter is swallowed, and a failure to publish the
    // failure (error topic not registered, event refused) must not vanish.
    private static void PublishFailure(EventBus bus, string topic, Exception e, EventSourceParams parameters, DateTimeOffset initializedAt)
    {
        if (parameters.ErrorTopic is null)
        {
            return;
        }

        try
        {
            bus.Publish(Stamp(bus, parameters.ErrorTopic, Failure(topic, e), parameters, initializedAt));
        }
        catch (Exception publishError)
        {
            throw new AggregateException(
                $"The function producing an event on topic '{topic}' failed, and publishing that failure to error topic " +
                $"'{parameters.ErrorTopic}' failed too. Both exceptions are inside.",
                e,
                publishError);
        }
    }

    // A null result is a failure like a throw: its error event (if any) is published, then the caller is
    // told, as for any other failure. Returning null instead would hide the failure from the caller only
    // when an error topic is set.
    [DoesNotReturn]
    private static void ThrowForNull(EventBus bus, string topic, EventSourceParams parameters, DateTimeOffset initializedAt)
    {
        var e = NullResult(topic);
        PublishFailure(bus, topic, e, parameters, initializedAt);
        throw e;
    }

    private static InvalidOperationException NullResult(string topic) =>
        new($"The function producing the data of an event on topic '{topic}' returned null; an event must carry data.");

    private static EventFailure Failure(string topic, Exception e) =>
        new(topic, e.GetType().FullName ?? e.GetType().Name, e.Message) { Exception = e };

    private static Event Stamp(EventBus bus, string topic, object data, EventSourceParams parameters, DateTimeOffset initializedAt)
    {
        var occurredAt = bus.Scheduler.Now;
        var id = parameters.Id ?? bus.Options.IdGenerator(occurredAt);
        return new Event
        {
            Id = id,
            Topic = topic,
            Data = data,

            // event_bus's EventSource: Map.get(params, :transaction_id, id). An event that starts no larger
            // operation is its own transaction, so a query by transaction id always finds at least the event.
            TransactionId = parameters.TransactionId ?? id,
            InitializedAt = initializedAt,
            OccurredAt = occurredAt,
            Source = parameters.Source ?? bus.Options.DefaultSource,
            Ttl = parameters.Ttl ?? bus.Options.DefaultTtl,
        };
    }
}
