namespace RxEventBus.Cli;

/// <summary>
/// The demo's publishing loop: <c>EventSource.Notify</c> of a fake event, as many times as asked, on a thread of
/// its own. Under the Wait overflow policy a full buffer blocks this thread, which is the backpressure the demo
/// shows; the progress view and the signal handling stay responsive on the others.
/// </summary>
internal sealed class DemoPublisher(EventBus bus, string topic, EventSourceParams parameters)
{
    /// <summary>What every demo event carries.</summary>
    public const string Data = "this is a fake event";

    private long _published;
    private long _rejected;
    private volatile bool _finished;

    /// <summary>Events the bus accepted.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Events refused to the publisher (--overflow fail with a full buffer).</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Whether every requested event was offered to the bus (the run was not stopped early).</summary>
    public bool Finished => _finished;

    /// <summary>Publishes <paramref name="count"/> events, or fewer if <paramref name="stop"/> fires first.</summary>
    public Task RunAsync(long count, CancellationToken stop) => Task.Factory.StartNew(
        () => Run(count, stop), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(long count, CancellationToken stop)
    {
        for (var i = 0L; i < count; i++)
        {
            if (stop.IsCancellationRequested)
            {
                return;
            }

            try
            {
                bus.Notify(topic, static () => Data, parameters);
                Interlocked.Increment(ref _published);
            }
            catch (EventRejectedException) when (stop.IsCancellationRequested)
            {
                // The consumer was stopped while this thread waited for room: the event was not accepted.
                return;
            }
            catch (EventRejectedException)
            {
                Interlocked.Increment(ref _rejected);
            }
        }

        _finished = true;
    }
}
