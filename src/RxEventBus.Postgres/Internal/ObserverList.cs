using System.Reactive.Disposables;

namespace RxEventBus.Postgres.Internal;

// A hot stream whose observers are isolated from each other and from the pipeline that feeds them, as the
// bus's subscribers are: an observer that throws is reported through `faulted` and keeps receiving; the
// others still get the value; the caller of OnNext never sees the exception. (A Subject would stop at the
// first observer that throws and throw into the writer that published the dead letter.) Notifications are
// serialized, so no observer ever sees two at once.
internal sealed class ObserverList<T>(Action<Exception> faulted) : IObservable<T>
{
    private readonly Lock _gate = new();
    private IObserver<T>[] _observers = [];
    private bool _completed;

    public IDisposable Subscribe(IObserver<T> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        using (_gate.EnterScope())
        {
            if (_completed)
            {
                observer.OnCompleted();
                return Disposable.Empty;
            }

            _observers = [.. _observers, observer];
        }

        return Disposable.Create((this, observer), static state =>
        {
            using (state.Item1._gate.EnterScope())
            {
                state.Item1._observers = Array.FindAll(state.Item1._observers, o => o != state.observer);
            }
        });
    }

    internal void OnNext(T value)
    {
        using (_gate.EnterScope())
        {
            foreach (var observer in _observers)
            {
                try
                {
                    observer.OnNext(value);
                }
#pragma warning disable CA1031 // A user's observer failed: it is reported, and must not reach the pipeline or the other observers.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    faulted(e);
                }
            }
        }
    }

    internal void OnCompleted()
    {
        using (_gate.EnterScope())
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            foreach (var observer in _observers)
            {
                try
                {
                    observer.OnCompleted();
                }
#pragma warning disable CA1031 // As in OnNext.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    faulted(e);
                }
            }

            _observers = [];
        }
    }
}
