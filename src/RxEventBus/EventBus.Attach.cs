using RxEventBus.Internal;

namespace RxEventBus;

public sealed partial class EventBus
{
    /// <summary>
    /// Makes <paramref name="source"/> a source of <paramref name="topic"/>: each item it emits is published as
    /// the data of a new event (<see cref="CreateEvent"/>). Use it to bring UI or desktop events onto the bus,
    /// e.g. <c>Observable.FromEventPattern</c> of a button's Click. Dispose the result to detach.
    /// </summary>
    /// <remarks>
    /// A publish that fails (for example a refused event) and an error of the source are reported on
    /// <see cref="Errors"/>, never thrown back into the source. The source's completion ends the attachment.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is null.</exception>
    /// <inheritdoc cref="Topic(string)" path="/exception"/>
    public IDisposable Attach<T>(string topic, IObservable<T> source)
        where T : notnull
    {
        ArgumentNullException.ThrowIfNull(source);
        EnsureTopic(topic);
        return source.Subscribe(new AttachedSource<T>(this, item => CreateEvent(topic, item)));
    }

    /// <summary>
    /// Makes <paramref name="source"/> a source of ready-made events, each published to its own topic.
    /// </summary>
    /// <inheritdoc cref="Attach{T}(string, IObservable{T})" path="/remarks"/>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is null.</exception>
    public IDisposable Attach(IObservable<Event> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        ThrowIfDisposed();
        return source.Subscribe(new AttachedSource<Event>(this, static e => e));
    }

    internal void ReportSourceFault(Event? @event, Exception exception) =>
        Report(new EventBusError(EventBusErrorOrigin.AttachedSource, null, @event, exception));
}
