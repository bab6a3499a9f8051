namespace RxEventBus.Internal;

// The IObservable the bus hands out. Not Observable.Create: its auto-detaching observer would end a
// subscription whose OnNext threw, and the bus keeps delivering to a subscriber after reporting its fault.
internal sealed class BusObservable<T>(Func<IObserver<T>, IDisposable> subscribe) : IObservable<T>
{
    public IDisposable Subscribe(IObserver<T> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        return subscribe(observer);
    }
}
