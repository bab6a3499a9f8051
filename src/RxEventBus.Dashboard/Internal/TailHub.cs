using System.Threading.Channels;
using RxEventBus.Postgres;

namespace RxEventBus.Dashboard.Internal;

/// <summary>
/// The one tail of a mapped dashboard that every open <c>api/tail</c> stream shares: an anonymous
/// <see cref="EventSubscription"/> from the end, started by the first client to join and stopped when the last one
/// leaves or the app stops, so that open pages cost the app one subscription's connections however many there are.
/// </summary>
/// <remarks>
/// <para>Each client has a bounded queue of frames. The hub hands each frame to every queue without waiting: a client
/// whose queue is full is dropped (its stream ends with an <c>error</c> frame saying so, and the browser reconnects),
/// so a slow page never holds back the others, nor grows memory.</para>
/// <para>A client gets every event the subscription yields after it joined, and the subscription's state at once.
/// If the subscription fails, every client's stream ends with an <c>error</c> frame, written after what it has queued
/// (never dropped for a full queue); the next client to join starts a fresh subscription.</para>
/// </remarks>
internal sealed class TailHub
{
    private readonly Func<EventSubscription> _subscribe;
    private readonly int _queue;
    private readonly Lock _gate = new();
    private readonly HashSet<TailClient> _clients = [];
    private Run? _run;
    private bool _stopped;

    /// <param name="subscribe">Makes the subscription (not started) each time one is needed.</param>
    /// <param name="queue">The frames one client may have waiting before it is dropped.</param>
    /// <param name="appStopping">Stops the hub for good: the subscription ends, and so does every stream.</param>
    public TailHub(Func<EventSubscription> subscribe, int queue, CancellationToken appStopping)
    {
        _subscribe = subscribe;
        _queue = queue;
        appStopping.Register(static hub => ((TailHub)hub!).Stop(), this);
    }

    /// <summary>A new client, following the tail from now on; dispose it to leave.</summary>
    public TailClient Join()
    {
        var client = new TailClient(this, _queue);
        using (_gate.EnterScope())
        {
            if (_stopped)
            {
                client.End(ServerSentEvents.Frame("error", new { Error = "Stopping", Message = "The app is stopping." }));
                return client;
            }

            _clients.Add(client);
            if (_run is null)
            {
                _run = Start();
            }
            else if (_run.StateFrame is { } state)
            {
                client.Offer(state);
            }
        }

        return client;
    }

    internal void Leave(TailClient client)
    {
        Run? stop = null;
        using (_gate.EnterScope())
        {
            if (_clients.Remove(client) && _clients.Count == 0)
            {
                stop = _run;
                _run = null;
            }
        }

        stop?.Cancel();
    }

    // Under the gate.
    private Run Start()
    {
        var run = new Run(_subscribe());
        // Observed before the reading starts, so the first state (starting) is not missed. Observers run on the
        // subscription's reading thread; Broadcast only hands frames over.
        run.States = run.Subscription.StateChanges.Subscribe(s => Broadcast(run, ServerSentEvents.Frame("state", new { State = s }), isState: true));
        // Not awaited by anyone: ReadAsync ends every stream itself, whatever ends it, and releases the subscription.
        _ = Task.Run(() => ReadAsync(run));
        return run;
    }

    private async Task ReadAsync(Run run)
    {
        var subscription = run.Subscription;
        try
        {
            await foreach (var @event in subscription.ReadAsync(run.Token).ConfigureAwait(false))
            {
                var view = EventView.Of(@event, withPayload: true);
                Broadcast(run, ServerSentEvents.Frame("stored", new
                {
                    view.Id,
                    view.Topic,
                    view.TransactionId,
                    view.Source,
                    view.InitializedAt,
                    view.OccurredAt,
                    view.TtlSeconds,
                    Position = subscription.Position?.ToString(),
                    view.Data,
                    view.DataBase64,
                    view.DataType,
                    view.DataError,
                }), isState: false);
            }

            // The enumeration runs until cancelled; should it end otherwise, the streams must not wait for nothing.
            Fail(run, ServerSentEvents.Frame("error", new { Error = "Ended", Message = "The tail's subscription ended." }));
        }
        catch (OperationCanceledException) when (run.Token.IsCancellationRequested)
        {
            // The last client left, or the app stops.
        }
#pragma warning disable CA1031 // Any failure of the subscription ends every stream with a message the page shows; the
        // subscription has logged it (SubscriptionFaulted, id 33) through the app's logger.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Fail(run, ServerSentEvents.Frame("error", new { Error = e.GetType().Name, e.Message }));
        }
        finally
        {
            run.States?.Dispose();
            await subscription.DisposeAsync().ConfigureAwait(false);
            run.Dispose();
        }
    }

    private void Broadcast(Run run, string frame, bool isState)
    {
        List<TailClient>? dropped = null;
        Run? stop = null;
        using (_gate.EnterScope())
        {
            if (_run != run)
            {
                return;
            }

            if (isState)
            {
                run.StateFrame = frame;
            }

            foreach (var client in _clients)
            {
                if (!client.Offer(frame))
                {
                    (dropped ??= []).Add(client);
                }
            }

            if (dropped is not null)
            {
                foreach (var client in dropped)
                {
                    _clients.Remove(client);
                    client.End(ServerSentEvents.Frame("error", new
                    {
                        Error = "TooSlow",
                        Message = $"This page fell {_queue} messages behind the tail and was dropped; it reconnects and follows from then on.",
                    }));
                }

                if (_clients.Count == 0)
                {
                    stop = _run;
                    _run = null;
                }
            }
        }

        stop?.Cancel();
    }

    private void Fail(Run run, string error)
    {
        using (_gate.EnterScope())
        {
            if (_run != run)
            {
                return;
            }

            _run = null;
            foreach (var client in _clients)
            {
                client.End(error);
            }

            _clients.Clear();
        }
    }

    private void Stop()
    {
        Run? stop;
        using (_gate.EnterScope())
        {
            _stopped = true;
            stop = _run;
            _run = null;
            foreach (var client in _clients)
            {
                client.End(null);
            }

            _clients.Clear();
        }

        stop?.Cancel();
    }

    private sealed class Run(EventSubscription subscription) : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();

        public EventSubscription Subscription { get; } = subscription;

        public CancellationToken Token => _stop.Token;

        public IDisposable? States { get; set; }

        /// <summary>The last state frame, for a client that joins later. Under the hub's gate.</summary>
        public string? StateFrame { get; set; }

        // The reading may have failed and disposed the run meanwhile: then there is nothing left to stop.
        public void Cancel()
        {
            try
            {
                _stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }

        public void Dispose() => _stop.Dispose();
    }
}

/// <summary>One <c>api/tail</c> stream's place in the <see cref="TailHub"/>: the frames waiting for it.</summary>
internal sealed class TailClient : IDisposable
{
    private readonly TailHub _hub;
    private readonly Channel<string> _frames;
    private string? _final;

    public TailClient(TailHub hub, int queue)
    {
        _hub = hub;
        _frames = Channel.CreateBounded<string>(new BoundedChannelOptions(queue) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>The frames to write, in order; completes when the hub ends this client's stream.</summary>
    public ChannelReader<string> Frames => _frames.Reader;

    /// <summary>The frame to write after <see cref="Frames"/> completes (why the stream ends), or null.</summary>
    public string? Final => Volatile.Read(ref _final);

    /// <summary>Queues a frame without waiting; false when the queue is full.</summary>
    public bool Offer(string frame) => _frames.Writer.TryWrite(frame);

    /// <summary>Ends the stream after what is queued, then <paramref name="final"/>. Outside any queue, so it is never
    /// lost to a full one.</summary>
    public void End(string? final)
    {
        Volatile.Write(ref _final, final);
        _frames.Writer.TryComplete();
    }

    public void Dispose() => _hub.Leave(this);
}
