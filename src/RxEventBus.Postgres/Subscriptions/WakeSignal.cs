namespace RxEventBus.Postgres.Subscriptions;

// A wake-up that is never lost: Set before WaitAsync makes the next WaitAsync return at once, and any number of
// Sets before one wait count as one (a batch of notifications means one more read, not one read each).
internal sealed class WakeSignal
{
    private readonly Lock _gate = new();
    private TaskCompletionSource _next = NewSource();
    private bool _set;

    internal void Set()
    {
        TaskCompletionSource waiting;
        using (_gate.EnterScope())
        {
            _set = true;
            waiting = _next;
        }

        waiting.TrySetResult();
    }

    // Completes when Set was called since the last wait ended (then clears it), or when it is called next.
    internal Task WaitAsync(CancellationToken cancellationToken)
    {
        using (_gate.EnterScope())
        {
            if (_set)
            {
                _set = false;
                _next = NewSource();
                return Task.CompletedTask;
            }

            return Consume(_next.Task, cancellationToken);
        }
    }

    private async Task Consume(Task signalled, CancellationToken cancellationToken)
    {
        await signalled.WaitAsync(cancellationToken).ConfigureAwait(false);
        using (_gate.EnterScope())
        {
            if (_set)
            {
                _set = false;
                _next = NewSource();
            }
        }
    }

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
