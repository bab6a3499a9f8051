using System.Runtime.CompilerServices;

namespace RxEventBus.Postgres.Pipeline;

// The queue stage (the seed's Queue, bounded this time): the consumer's tracked subscription pushes into
// it on the publisher's thread; the pipeline pulls from it as an IAsyncEnumerable. When it is full, the
// overflow policy decides. Wait blocks the publisher on a monitor — a bounded Channel cannot do that from a
// synchronous OnNext (its TryWrite just returns false), and blocking on WriteAsync would tie up a pool
// thread per waiting publisher.
internal sealed class EventQueue : IObserver<TrackedEvent>
{
    private readonly object _sync = new();
    private readonly Queue<TrackedEvent> _items;
    private readonly int _capacity;
    private readonly OverflowPolicy _policy;
    private readonly Action<TrackedEvent, string> _dropped;
    private readonly Action _accepted;
    private TaskCompletionSource? _itemsAvailable;
    private int _blockedPublishers;
    private bool _completed;

    internal EventQueue(int capacity, OverflowPolicy policy, Action accepted, Action<TrackedEvent, string> dropped)
    {
        _accepted = accepted;
        _capacity = capacity;
        _policy = policy;
        _dropped = dropped;
        _items = new Queue<TrackedEvent>(capacity);
    }

    internal int Count
    {
        get
        {
            lock (_sync)
            {
                return _items.Count;
            }
        }
    }

    // Publishers blocked in OnNext waiting for room (Wait policy).
    internal int BlockedPublishers
    {
        get
        {
            lock (_sync)
            {
                return _blockedPublishers;
            }
        }
    }

    public void OnNext(TrackedEvent value)
    {
        TrackedEvent? evicted = null;
        TaskCompletionSource? wake;
        lock (_sync)
        {
            ThrowIfCompleted(value);
            if (_items.Count >= _capacity)
            {
                switch (_policy)
                {
                    case OverflowPolicy.Wait:
                        _blockedPublishers++;
                        try
                        {
                            while (_items.Count >= _capacity && !_completed)
                            {
                                Monitor.Wait(_sync);
                            }
                        }
                        finally
                        {
                            _blockedPublishers--;
                        }

                        ThrowIfCompleted(value);
                        break;
                    case OverflowPolicy.DropOldest:
                        evicted = _items.Dequeue();
                        break;
                    case OverflowPolicy.DropNewest:
                        evicted = value;
                        break;
                    default:
                        throw new EventRejectedException(
                            $"The persistence buffer is full ({_capacity} events) and its overflow policy is Fail: " +
                            $"event {value.Event.Id} on topic '{value.Event.Topic}' was not accepted.");
                }
            }

            if (evicted is { } newest && newest == value)
            {
                wake = null;
            }
            else
            {
                _items.Enqueue(value);
                wake = _itemsAvailable;
                _itemsAvailable = null;
            }
        }

        if (evicted is not { } rejected || rejected != value)
        {
            _accepted();
        }

        wake?.TrySetResult();
        if (evicted is { } dropped)
        {
            _dropped(dropped, _policy == OverflowPolicy.DropOldest
                ? $"the buffer was full ({_capacity} events) and the overflow policy DropOldest dropped it for a newer event"
                : $"the buffer was full ({_capacity} events) and the overflow policy DropNewest dropped it");
        }
    }

    public void OnError(Exception error) => Complete();

    public void OnCompleted() => Complete();

    // Stops intake: later events, and publishers blocked waiting for room, get EventRejectedException.
    // What is already buffered is still read.
    internal void Complete()
    {
        TaskCompletionSource? wake;
        lock (_sync)
        {
            _completed = true;
            Monitor.PulseAll(_sync);
            wake = _itemsAvailable;
            _itemsAvailable = null;
        }

        wake?.TrySetResult();
    }

    // Pulls events in arrival order until the queue is completed and empty.
    internal async IAsyncEnumerable<TrackedEvent> ReadAllAsync(
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            TrackedEvent item;
            Task? available = null;
            lock (_sync)
            {
                if (_items.TryDequeue(out item))
                {
                    // Blocked publishers are woken once half the buffer is free, not per event read: woken
                    // per event, each adds one and blocks again, a context switch per event on both sides.
                    if (_blockedPublishers > 0 && _items.Count <= _capacity / 2)
                    {
                        Monitor.PulseAll(_sync);
                    }
                }
                else if (_completed)
                {
                    break;
                }
                else
                {
                    _itemsAvailable ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    available = _itemsAvailable.Task;
                }
            }

            if (available is null)
            {
                yield return item;
            }
            else
            {
                await available.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private void ThrowIfCompleted(TrackedEvent value)
    {
        if (_completed)
        {
            throw new EventRejectedException(
                $"The persistence consumer is stopping: event {value.Event.Id} on topic '{value.Event.Topic}' was not accepted.");
        }
    }
}
