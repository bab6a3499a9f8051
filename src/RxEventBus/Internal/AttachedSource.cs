namespace RxEventBus.Internal;

// The observer EventBus.Attach puts on a user's source: it publishes each item, and turns every failure
// into a reported fault, because throwing into someone else's observable would end it.
internal sealed class AttachedSource<T>(EventBus bus, Func<T, Event> toEvent) : IObserver<T>
{
    public void OnNext(T value)
    {
        Event? @event = null;
        try
        {
            @event = toEvent(value);
            bus.Publish(@event);
        }
#pragma warning disable CA1031 // Every failure is reported on EventBus.Errors; none may escape into the source.
        catch (Exception e)
#pragma warning restore CA1031
        {
            bus.ReportSourceFault(@event, e);
        }
    }

    public void OnError(Exception error) => bus.ReportSourceFault(null, error);

    public void OnCompleted()
    {
    }
}
