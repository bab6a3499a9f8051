namespace RxEventBus.Postgres.Tests.Support;

// Reads an async sequence one step at a time, so a test can look at a step that has not completed yet.
// `end` ends the upstream source on disposal, so that no step is left pending when the reader goes.
internal sealed class Pull<T>(IAsyncEnumerable<T> source, Action end) : IAsyncDisposable
{
    private readonly IAsyncEnumerator<T> _enumerator = source.GetAsyncEnumerator();
    private Task<bool>? _next;

    // The pending step: started on first use, kept until it completes and is taken.
    public Task<bool> Next => _next ??= _enumerator.MoveNextAsync().AsTask();

    public async Task<T> TakeAsync()
    {
        (await Next.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeTrue("the sequence should have produced another item");
        _next = null;
        return _enumerator.Current;
    }

    public async Task ShouldEndAsync()
    {
        (await Next.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeFalse("the sequence should have ended");
        _next = null;
    }

    // A pending step must finish before the enumerator may be disposed.
    public async ValueTask DisposeAsync()
    {
        end();
        if (_next is not null)
        {
            await ((Task)_next).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await _enumerator.DisposeAsync();
    }
}
