using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace RxEventBus.Postgres.Tests.Support;

// An async source the test feeds by hand. WhenIdleAsync completes once the consumer has taken everything
// pushed so far and is waiting for more: the point where a test may advance virtual time knowing the
// consumer has seen every item (and, for the batcher, armed its timer).
internal sealed class ControlledSource<T> : IAsyncEnumerable<T>
{
    private readonly Channel<T> _items = Channel.CreateUnbounded<T>();
    private readonly Lock _gate = new();
    private TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Push(params T[] items)
    {
        using (_gate.EnterScope())
        {
            _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            foreach (var item in items)
            {
                _items.Writer.TryWrite(item);
            }
        }
    }

    public void Complete() => _items.Writer.TryComplete();

    public Task WhenIdleAsync()
    {
        using (_gate.EnterScope())
        {
            return _idle.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    public async IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            T? item;
            bool got;
            using (_gate.EnterScope())
            {
                got = _items.Reader.TryRead(out item);
                if (!got)
                {
                    _idle.TrySetResult();
                }
            }

            if (got)
            {
                yield return item!;
                continue;
            }

            if (!await _items.Reader.WaitToReadAsync(cancellationToken))
            {
                yield break;
            }
        }
    }
}
