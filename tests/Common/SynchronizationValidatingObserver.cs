namespace RxEventBus.Tests.Common;

/// <summary>
/// An observer that checks the Rx contract while it records: two notifications to one observer must never
/// run at the same time. Each call enters with an interlocked counter; finding it already non-zero means a
/// second thread got in, which is counted in <see cref="Overlaps"/> (not thrown: the bus would catch the
/// throw and report it, hiding the overlap).
/// </summary>
public sealed class SynchronizationValidatingObserver<T> : IObserver<T>
{
    private readonly Lock _itemsGate = new();
    private readonly List<T> _items = [];
    private readonly int _spinIterations;
    private int _inside;
    private int _overlaps;
    private int _completions;
    private Exception? _error;

    /// <param name="spinIterations">How long each OnNext stays inside (a CPU spin, not a sleep), to widen the
    /// window in which an overlapping call would be caught.</param>
    public SynchronizationValidatingObserver(int spinIterations = 500) => _spinIterations = spinIterations;

    /// <summary>How many notifications started while another one was still running.</summary>
    public int Overlaps => Volatile.Read(ref _overlaps);

    public IReadOnlyList<T> Items
    {
        get
        {
            using (_itemsGate.EnterScope())
            {
                return [.. _items];
            }
        }
    }

    public int Completions => Volatile.Read(ref _completions);

    public Exception? Error => Volatile.Read(ref _error);

    public void OnNext(T value)
    {
        Enter();
        try
        {
            Thread.SpinWait(_spinIterations);
            using (_itemsGate.EnterScope())
            {
                _items.Add(value);
            }
        }
        finally
        {
            Exit();
        }
    }

    public void OnError(Exception error)
    {
        Enter();
        Volatile.Write(ref _error, error);
        Exit();
    }

    public void OnCompleted()
    {
        Enter();
        Interlocked.Increment(ref _completions);
        Exit();
    }

    private void Enter()
    {
        if (Interlocked.Increment(ref _inside) != 1)
        {
            Interlocked.Increment(ref _overlaps);
        }
    }

    private void Exit() => Interlocked.Decrement(ref _inside);
}
