using System.Collections.Concurrent;

namespace RxEventBus.Tests.Support;

/// <summary>
/// A stand-in for a UI thread's context without a UI thread: <see cref="Post"/> only queues the callback,
/// and <see cref="RunPending"/> runs the queue on the calling thread with this context installed as
/// <see cref="SynchronizationContext.Current"/>, the way a dispatcher's message loop would. A test decides
/// exactly when the "UI" gets to run.
/// </summary>
public sealed class RecordingSynchronizationContext : SynchronizationContext
{
    private readonly ConcurrentQueue<(SendOrPostCallback Callback, object? State)> _queue = new();
    private int _posted;

    /// <summary>Callbacks posted so far, run or not.</summary>
    public int Posted => Volatile.Read(ref _posted);

    /// <summary>Callbacks posted and not yet run.</summary>
    public int Queued => _queue.Count;

    public override void Post(SendOrPostCallback d, object? state)
    {
        Interlocked.Increment(ref _posted);
        _queue.Enqueue((d, state));
    }

    // A real UI context would block the caller until the UI thread ran it; nothing here should need that.
    public override void Send(SendOrPostCallback d, object? state) =>
        throw new NotSupportedException("The recording context only queues; Send would need a second thread.");

    public override SynchronizationContext CreateCopy() => this;

    /// <summary>Runs every queued callback, in posting order, on this thread and "on" this context.</summary>
    /// <returns>How many callbacks ran.</returns>
    public int RunPending()
    {
        var previous = Current;
        SetSynchronizationContext(this);
        try
        {
            var ran = 0;
            while (_queue.TryDequeue(out var item))
            {
                item.Callback(item.State);
                ran++;
            }

            return ran;
        }
        finally
        {
            SetSynchronizationContext(previous);
        }
    }
}
