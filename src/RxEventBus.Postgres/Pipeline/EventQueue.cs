using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Runtime.CompilerServices;

namespace RxEventBus.Postgres.Pipeline;

// The queue stage (bounded): the consumer's tracked subscription pushes into it on the publisher's thread; the
// pipeline pulls from it as an IAsyncEnumerable. When it is full, the overflow policy decides. Wait blocks the
// publisher on a monitor — a bounded Channel cannot do that from a synchronous OnNext (its TryWrite just returns
// false), and blocking on WriteAsync would tie up a pool thread per waiting publisher — for at most the publish
// timeout, measured on the bus's scheduler, after which the publisher is refused.
internal sealed class EventQueue : IObserver<TrackedEvent>
{
    private readonly object _sync = new();
    private readonly Queue<TrackedEvent> _items;
    private readonly int _capacity;
    private readonly OverflowPolicy _policy;
    private readonly TimeSpan _publishTimeout;
    private readonly IScheduler _scheduler;
    private readonly IQueueListener _listener;
    private TaskCompletionSource? _itemsAvailable;
    private int _blockedPublishers;
    private bool _completed;
    private string _completedReason = "the persistence consumer is stopping";

    internal EventQueue(int capacity, OverflowPolicy policy, TimeSpan publishTimeout, IScheduler scheduler, IQueueListener listener)
    {
        _capacity = capacity;
        _policy = policy;
        _publishTimeout = publishTimeout;
        _scheduler = scheduler;
        _listener = listener;
        _items = new Queue<TrackedEvent>(capacity);
    }

    internal int Capacity => _capacity;

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

    // What is still buffered, oldest first: with the consumer's ledger, what a stop or a fault leaves unwritten.
    internal TrackedEvent[] Snapshot()
    {
        lock (_sync)
        {
            return [.. _items];
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
        TrackedEvent? dropped = null;
        TaskCompletionSource? wake = null;
        string? refusal = null;
        bool full;
        lock (_sync)
        {
            refusal = CompletedReason();
            full = refusal is null && _items.Count >= _capacity;
            if (full)
            {
                switch (_policy)
                {
                    case OverflowPolicy.Wait:
                        break;
                    case OverflowPolicy.DropOldest:
                        dropped = _items.Dequeue();
                        full = false;
                        break;
                    case OverflowPolicy.DropNewest:
                        dropped = value;
                        break;
                    default:
                        refusal = $"the persistence buffer is full ({_capacity} events) and its overflow policy is Fail";
                        break;
                }
            }

            if (!full && refusal is null)
            {
                _items.Enqueue(value);
                wake = TakeWake();
            }
        }

        if (refusal is not null)
        {
            throw Refuse(value, refusal);
        }

        if (full && _policy == OverflowPolicy.Wait)
        {
            wake = WaitForRoom(value);
        }

        if (dropped != value)
        {
            _listener.Accepted(value);
        }

        wake?.TrySetResult();
        if (dropped is { } gone)
        {
            _listener.Dropped(gone, _policy == OverflowPolicy.DropOldest
                ? $"the buffer was full ({_capacity} events) and the overflow policy DropOldest dropped it for a newer event"
                : $"the buffer was full ({_capacity} events) and the overflow policy DropNewest dropped it");
        }
    }

    // The bus ended the subscription: with an error (a pattern that timed out, a name already taken) or because
    // it was disposed. Intake stops as with Complete; the consumer is told, so that it does not look alive.
    // The listener hears of the end before the reader is woken by Complete, so that a reader that finds the queue
    // completed and empty always finds the end recorded too.
    public void OnError(Exception error)
    {
        _listener.Ended(error);
        Complete("the persistence consumer's subscription to the bus ended with an error: " + error.Message);
    }

    public void OnCompleted()
    {
        _listener.Ended(null);
        Complete("the bus ended the persistence consumer's subscription");
    }

    // Stops intake: later events, and publishers blocked waiting for room, get EventRejectedException saying
    // `reason`. What is already buffered is still read.
    internal void Complete(string? reason = null)
    {
        TaskCompletionSource? wake;
        lock (_sync)
        {
            if (!_completed && reason is not null)
            {
                _completedReason = reason;
            }

            _completed = true;
            Monitor.PulseAll(_sync);
            wake = TakeWake();
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

    // The Wait policy with a full buffer. The timer is armed outside the monitor: a scheduler has locks of its own
    // (a test's, a UI's), and its callback takes this monitor, so holding the monitor while scheduling could
    // invert the order. The callback only marks the wait expired and wakes the publisher.
    private TaskCompletionSource? WaitForRoom(TrackedEvent value)
    {
        var expiry = new Expiry(this);
        var timer = _scheduler.Schedule(expiry, _publishTimeout, static (_, state) =>
        {
            state.Expire();
            return Disposable.Empty;
        });
        string? refusal;
        try
        {
            lock (_sync)
            {
                _blockedPublishers++;
                try
                {
                    while (_items.Count >= _capacity && !_completed && !expiry.Expired)
                    {
                        Monitor.Wait(_sync);
                    }
                }
                finally
                {
                    _blockedPublishers--;
                }

                refusal = CompletedReason();
                if (refusal is null && _items.Count >= _capacity)
                {
                    refusal = $"the persistence buffer stayed full ({_capacity} events) for the publish timeout ({_publishTimeout})";
                }

                if (refusal is null)
                {
                    _items.Enqueue(value);
                    return TakeWake();
                }
            }
        }
        finally
        {
            timer.Dispose();
        }

        throw Refuse(value, refusal);
    }

    private TaskCompletionSource? TakeWake()
    {
        var wake = _itemsAvailable;
        _itemsAvailable = null;
        return wake;
    }

    // Called outside the monitor: the listener logs, and a logger is user code (it may block, or even publish).
    private EventRejectedException Refuse(TrackedEvent value, string reason)
    {
        _listener.Refused(value, reason);
        return new EventRejectedException($"Event {value.Event.Id} on topic '{value.Event.Topic}' was not accepted: {reason}.");
    }

    // Under the monitor.
    private string? CompletedReason() => _completed ? _completedReason : null;

    private sealed class Expiry(EventQueue queue)
    {
        internal bool Expired { get; private set; }

        internal void Expire()
        {
            lock (queue._sync)
            {
                Expired = true;
                Monitor.PulseAll(queue._sync);
            }
        }
    }
}

// What the queue tells the consumer: each event accepted (on the publisher's thread, before Publish returns),
// dropped by the overflow policy, or refused to its publisher; and the end of the subscription by the bus.
internal interface IQueueListener
{
    void Accepted(TrackedEvent delivery);

    void Dropped(TrackedEvent delivery, string reason);

    void Refused(TrackedEvent delivery, string reason);

    void Ended(Exception? error);
}
