using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using RxEventBus.Postgres.Internal;
using RxEventBus.Postgres.Subscriptions;

namespace RxEventBus.Postgres;

/// <summary>
/// Reads the events table as a log: every stored row of the chosen topics, in a stable order
/// (<see cref="LogPosition"/>), from the beginning, the end, a stored checkpoint or a given position, then
/// follows new rows live — across processes and restarts, with PostgreSQL as the only moving part.
/// </summary>
/// <remarks>
/// <para><b>Order and completeness.</b> Rows are read behind a transaction fence: only rows whose writing
/// transaction is older than the oldest transaction still running, ordered by (transaction id, position). So a
/// row that commits late is never passed by: it is delivered once its transaction has ended, after the rows
/// already delivered (ADR 0004, docs/subscriptions.md). A long transaction anywhere in the cluster delays
/// delivery by its age; it never loses or reorders a row.</para>
/// <para><b>Named subscriptions</b> (<see cref="EventSubscriptionOptions.Name"/>) store a checkpoint in
/// <c>&lt;table&gt;_subscriptions</c> and resume from it; delivery is at least once: a crash re-delivers at most
/// <see cref="EventSubscriptionOptions.CheckpointEvery"/> handled events. One instance per name reads at a
/// time, across processes (a PostgreSQL advisory lock held by its connection); the others stand by and take
/// over within <see cref="EventSubscriptionOptions.LeaderRetryInterval"/> when it stops or its connection
/// ends.</para>
/// <para><b>Handled</b> means: the reader asked <see cref="ReadAsync"/> for the next event (or
/// <see cref="IObserver{T}.OnNext"/> returned), or called <see cref="Acknowledge"/>.</para>
/// <para>Live wake-ups come from the persistence consumer's notification, one per committed batch; rows written
/// by other programs are found by polling (<see cref="EventSubscriptionOptions.MinPollInterval"/> up to
/// <see cref="EventSubscriptionOptions.MaxPollInterval"/>). A lost connection is retried with backoff
/// (<see cref="SubscriptionState.Reconnecting"/>); an error that retrying cannot fix (a missing table, a payload
/// that cannot be read) ends the enumeration with that exception (<see cref="SubscriptionState.Faulted"/>).</para>
/// <para>All waiting is on the scheduler, so a TestScheduler drives it.</para>
/// </remarks>
public sealed class EventSubscription : IAsyncDisposable
{
    private readonly ILogSource _source;
    private readonly EventSubscriptionOptions _options;
    private readonly TopicFilter _topics;
    private readonly IScheduler _scheduler;
    private readonly ILogger _logger;
    private readonly RetryPolicy _reconnect;
    private readonly WakeSignal _wake = new();
    private readonly ObserverList<SubscriptionState> _states;
    private readonly CancellationTokenSource _disposing = new();
    private readonly Lock _gate = new();
    private readonly string _displayName;
    private int _reading;
    private long _pageReads;
    private bool _disposed;
    private SubscriptionState _state;
    private LogPosition? _position;
    private LogPosition? _acknowledged;
    private LogPosition? _checkpoint;
    private DateTimeOffset? _heldSince;
    private bool _heldWarned;

    /// <summary>A subscription over <paramref name="table"/>; nothing is read until <see cref="ReadAsync"/> is
    /// enumerated or <see cref="AsObservable"/> subscribed.</summary>
    /// <param name="dataSource">Where the table lives. A reading subscription holds two connections, one that
    /// reads and one that listens for notifications; a named one holds a third, for its name and checkpoints.</param>
    /// <param name="table">The events table; checkpoints go in <c>&lt;table&gt;_subscriptions</c> beside it.</param>
    /// <param name="serializer">Reads each row's payload back (the one the consumer wrote it with).</param>
    /// <param name="options">How to read; copied, so later changes have no effect.</param>
    /// <param name="scheduler">Drives every wait; default <see cref="DefaultScheduler.Instance"/>.</param>
    /// <param name="logger">Where the subscription logs (ids 30–37, docs/observability.md).</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">An option is out of range (<see cref="EventSubscriptionOptions.Validate"/>).</exception>
    public EventSubscription(
        NpgsqlDataSource dataSource,
        EventTable table,
        IEventSerializer serializer,
        EventSubscriptionOptions options,
        IScheduler? scheduler = null,
        ILogger? logger = null)
        : this(
            Source(dataSource, table, serializer, logger),
            options,
            scheduler,
            logger)
    {
    }

    // `reconnectJitter`: 0 in virtual-time tests, so that each reconnect wait is exactly the backoff's ceiling.
    internal EventSubscription(ILogSource source, EventSubscriptionOptions options, IScheduler? scheduler, ILogger? logger, double reconnectJitter = 0.5)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Copy();
        _options.Validate();
        _source = source;
        _topics = new TopicFilter(_options.Topics);
        _scheduler = scheduler ?? DefaultScheduler.Instance;
        _logger = logger ?? NullLogger.Instance;
        _reconnect = new RetryPolicy(_scheduler, _options.ReconnectDelay, _options.MaxReconnectDelay, reconnectJitter, new Random());
        _displayName = _options.Name ?? "(anonymous)";
        _states = new ObserverList<SubscriptionState>(e => Log.SubscriptionObserverFailed(_logger, e, _displayName, nameof(StateChanges)));
    }

    /// <summary>The durable name, or null for an anonymous subscription.</summary>
    public string? Name => _options.Name;

    /// <summary>The position of the event <see cref="ReadAsync"/> yielded last; null before the first.</summary>
    public LogPosition? Position
    {
        get
        {
            using (_gate.EnterScope())
            {
                return _position;
            }
        }
    }

    /// <summary>The checkpoint this instance stored last, or loaded when it started; null when none (and always
    /// for an anonymous subscription).</summary>
    public LogPosition? Checkpoint
    {
        get
        {
            using (_gate.EnterScope())
            {
                return _checkpoint;
            }
        }
    }

    // Pages read so far (each poll is one), so tests can tell that a read happened without timing it.
    internal long PageReads => Interlocked.Read(ref _pageReads);

    /// <summary>What the subscription is doing now.</summary>
    public SubscriptionState State
    {
        get
        {
            using (_gate.EnterScope())
            {
                return _state;
            }
        }
    }

    /// <summary>Each change of <see cref="State"/>, as it happens; completes when the subscription is disposed.
    /// Observers run on the subscription's reading thread, so they should return quickly; one that throws is
    /// logged and keeps receiving.</summary>
    public IObservable<SubscriptionState> StateChanges => _states;

    /// <summary>
    /// The events, in log order, for as long as the enumeration runs: the stored ones first, in pages of
    /// <see cref="EventSubscriptionOptions.PageSize"/>, then new ones as they commit. One enumeration at a time.
    /// </summary>
    /// <remarks>
    /// Asking for the next event marks the previous one handled. Breaking out of the loop does not: call
    /// <see cref="Acknowledge"/> first if the last event was handled (a named subscription stores its checkpoint
    /// when the enumeration ends). Cancelling <paramref name="cancellationToken"/> ends the enumeration with an
    /// <see cref="OperationCanceledException"/>.
    /// </remarks>
    /// <exception cref="ObjectDisposedException">The subscription was disposed.</exception>
    /// <exception cref="InvalidOperationException">Enumerated while another enumeration runs (thrown by the
    /// first MoveNextAsync); or a stored payload cannot be deserialized, or the table has rows without a position.</exception>
    /// <exception cref="NpgsqlException">A failure that retrying cannot fix, such as a missing table or a
    /// privilege the role lacks.</exception>
    public IAsyncEnumerable<Event> ReadAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        return ReadCoreAsync(cancellationToken);
    }

    /// <summary>
    /// Marks the event <see cref="ReadAsync"/> yielded last as handled, without asking for the next one: for a
    /// reader that stops after it (for example after a count of events), so that the checkpoint stored when the
    /// enumeration ends includes it. Call it from the loop's body only.
    /// </summary>
    public void Acknowledge()
    {
        using (_gate.EnterScope())
        {
            _acknowledged = _position;
        }
    }

    /// <summary>
    /// The events as a cold observable: each subscription enumerates <see cref="ReadAsync"/> and calls
    /// <see cref="IObserver{T}.OnNext"/> for each event; an event is handled when OnNext returns. An error
    /// (including one thrown by OnNext) ends it with OnError; disposing the subscription stops the reading.
    /// </summary>
    public IObservable<Event> AsObservable() =>
        Observable.Create<Event>(async (observer, cancellationToken) =>
        {
            await foreach (var @event in ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                observer.OnNext(@event);
            }
        });

    /// <summary>
    /// Publishes every event of this subscription on <paramref name="bus"/>, each to its own topic, so that
    /// events stored by other processes reach this process's subscribers, tracked subscribers and schedulers
    /// as if published here: the distributed bus. Dispose the result to detach (and stop reading).
    /// </summary>
    /// <remarks>
    /// <para>A persistence consumer on <paramref name="bus"/> that writes to this same table does not store them
    /// again: it marks them skipped. (One writing to another table stores them, which copies the log.)</para>
    /// <para>Delivery is at least once, in log order, one event at a time: an event counts as handled when
    /// <see cref="EventBus.Publish(Event)"/> returns, that is once the bus's plain subscribers have run and its
    /// tracked subscribers have it pending — not when they mark it completed. An event the bus still holds pending
    /// (published here, and not yet answered by every tracked subscriber) is passed over: it is on this bus
    /// already. A publish the bus refuses (a topic
    /// it has not registered, a subscriber's <see cref="EventRejectedException"/>) and the subscription's own
    /// failure are reported on <see cref="EventBus.Errors"/>; a refused event is passed over.</para>
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="bus"/> is null.</exception>
    public IDisposable AttachTo(EventBus bus)
    {
        ArgumentNullException.ThrowIfNull(bus);
        var table = _source.Table;
        // An event the bus still holds pending is on this bus already (typically its own, read back before its
        // tracked subscribers answered): publishing it again would only be refused as a duplicate id.
        return bus.Attach(AsObservable().Where(e => bus.FetchEvent(e.Topic, e.Id) is null).Select(e => LogOrigin.Mark(e, table)));
    }

    /// <summary>Stops a running enumeration (it ends with <see cref="OperationCanceledException"/> after storing
    /// the checkpoint of what was handled) and completes <see cref="StateChanges"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        using (_gate.EnterScope())
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        await _disposing.CancelAsync().ConfigureAwait(false);
        _states.OnCompleted();
    }

    private static PostgresLogSource Source(
        NpgsqlDataSource dataSource, EventTable table, IEventSerializer serializer, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(serializer);
        return new PostgresLogSource(dataSource, table, serializer, logger ?? NullLogger.Instance);
    }

    // The loop: connect (and lead), read a page, yield its events, store checkpoints as they fall due; when a
    // page is not full the reader is caught up, so it stores what is handled and waits for a notification or
    // the next poll. A connection failure drops the session and reconnects with backoff, resuming after the
    // last handled row. No yield sits inside a try with a catch (C# forbids it), so each step that can fail
    // is caught on its own and the loop decides.
    private async IAsyncEnumerable<Event> ReadCoreAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _reading, 1) == 1)
        {
            throw new InvalidOperationException($"Subscription {_displayName} is already being read; one enumeration at a time.");
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        var token = linked.Token;
        var checkpoints = new Checkpointer(_options.Name is not null, _options.CheckpointEvery, _options.CheckpointInterval, _scheduler);
        var poll = new PollInterval(_options.MinPollInterval, _options.MaxPollInterval);
        var listening = _source.Listen(_wake.Set, _reconnect);
        var tags = PersistenceMetrics.SubscriptionTags(_source.Table, _options.Name);
        using var heldBackGauge = PersistenceMetrics.ObserveHeldBack(tags, HeldBackSeconds);
        ILogSession? session = null;
        Task<LogPage>? ahead = null;
        Backoff? reconnect = null;
        var positioned = false;
        var faulted = false;
        try
        {
            while (true)
            {
                LogPage page;
                try
                {
                    if (session is null)
                    {
                        session = await ConnectAsync(checkpoints, positioned, token).ConfigureAwait(false);
                        positioned = true;
                    }

                    if (checkpoints.Due)
                    {
                        await StoreAsync(session, checkpoints, token).ConfigureAwait(false);
                    }

                    // The page read ahead, if the last one was full: it starts where that one ended, which is
                    // where everything is handled now.
                    var reading = ahead ?? session.ReadPageAsync(checkpoints.Handled, _options.PageSize, _topics, token);
                    ahead = null;
                    page = await reading.ConfigureAwait(false);
                    Interlocked.Increment(ref _pageReads);
                    reconnect = null;

                    // Catching up: ask for the next page while this one's events are handled (the session streams
                    // it in the background, LogStream), so that the server and the network work meanwhile instead of
                    // waiting for the reader (docs/benchmarks.md, issue 12). Checkpoints go on the name's own
                    // connection, so a store due meanwhile does not wait for that read.
                    if (page.Full)
                    {
                        ahead = session.ReadPageAsync(page.End, _options.PageSize, _topics, token);
                    }
                }
                catch (Exception e) when (IsTransient(e) && !token.IsCancellationRequested)
                {
                    await ForgetAsync(ahead).ConfigureAwait(false);
                    ahead = null;
                    await DropAsync(session).ConfigureAwait(false);
                    session = null;
                    reconnect = await WaitToReconnectAsync(reconnect, e, token).ConfigureAwait(false);
                    continue;
                }
                catch (Exception e) when (!token.IsCancellationRequested)
                {
                    faulted = true;
                    Log.SubscriptionFaulted(_logger, e, _displayName, _source.Table, e.Message);
                    throw;
                }

                if (page.RowsRead > 0)
                {
                    poll.Reset();
                }

                if (page.Full)
                {
                    SetState(SubscriptionState.CatchingUp);
                }

                var lost = false;
                foreach (var logged in page.Events)
                {
                    using (_gate.EnterScope())
                    {
                        _position = logged.Position;
                    }

                    Event @event;
                    try
                    {
                        @event = logged.Materialize();
                    }
                    catch (Exception e)
                    {
                        // A stored payload the serializer cannot read: skipping it would pass a committed row.
                        faulted = true;
                        Log.SubscriptionFaulted(_logger, e, _displayName, _source.Table, e.Message);
                        throw;
                    }

                    PersistenceMetrics.Delivered(tags);
                    yield return @event;

                    checkpoints.EventHandled(logged.Position);
                    if (!checkpoints.Due)
                    {
                        continue;
                    }

                    try
                    {
                        await StoreAsync(session, checkpoints, token).ConfigureAwait(false);
                    }
                    catch (Exception e) when (IsTransient(e) && !token.IsCancellationRequested)
                    {
                        // The connection, and with it the name's lock, is gone: another instance may be reading
                        // from the stored checkpoint already, so this one stops delivering the rest of the page.
                        await ForgetAsync(ahead).ConfigureAwait(false);
                        ahead = null;
                        await DropAsync(session).ConfigureAwait(false);
                        session = null;
                        reconnect = await WaitToReconnectAsync(reconnect, e, token).ConfigureAwait(false);
                        lost = true;
                        break;
                    }
                }

                if (lost)
                {
                    continue;
                }

                checkpoints.PassedTo(page.End);
                if (page.Full)
                {
                    continue;
                }

                // Caught up with the fence. A checkpoint that has fallen due is stored before going quiet; one
                // that has not shortens the wait so that it is stored on time (one small write per
                // CheckpointInterval at most, however many wake-ups there are).
                try
                {
                    if (session is not null && checkpoints.Due)
                    {
                        await StoreAsync(session, checkpoints, token).ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (IsTransient(e) && !token.IsCancellationRequested)
                {
                    await DropAsync(session).ConfigureAwait(false);
                    session = null;
                    reconnect = await WaitToReconnectAsync(reconnect, e, token).ConfigureAwait(false);
                    continue;
                }

                if (session is not null)
                {
                    await WatchHeldBackAsync(session, page.HeldBack, token).ConfigureAwait(false);
                }

                SetState(SubscriptionState.Live);
                var wait = poll.Next();
                if (checkpoints.Dirty && checkpoints.UntilDue < wait)
                {
                    wait = checkpoints.UntilDue;
                }

                await WaitForRowsAsync(wait, token).ConfigureAwait(false);
            }
        }
        finally
        {
            listening.Dispose();
            await ForgetAsync(ahead).ConfigureAwait(false);
            using (_gate.EnterScope())
            {
                if (_acknowledged is { } acknowledged)
                {
                    checkpoints.EventHandled(acknowledged);
                }
            }

            if (session is not null)
            {
                if (!faulted && checkpoints.Dirty)
                {
                    await StoreOnStopAsync(session, checkpoints).ConfigureAwait(false);
                }

                await session.DisposeAsync().ConfigureAwait(false);
            }

            SetState(faulted ? SubscriptionState.Faulted : SubscriptionState.Stopped);
            using (_gate.EnterScope())
            {
                _acknowledged = null;
            }

            Volatile.Write(ref _reading, 0);
        }
    }

    // Opens a session, takes the name (standing by while another instance holds it), and finds where to read:
    // the first time, the stored checkpoint or else the configured start; after a reconnect, the later of the
    // stored checkpoint (another instance may have read on) and what this one handled.
    private async Task<ILogSession> ConnectAsync(Checkpointer checkpoints, bool positioned, CancellationToken token)
    {
        SetState(SubscriptionState.Starting);
        var session = await _source.OpenAsync(token).ConfigureAwait(false);
        try
        {
            var name = _options.Name;
            if (name is not null)
            {
                var announced = false;
                while (!await session.TryLeadAsync(name, token).ConfigureAwait(false))
                {
                    if (!announced)
                    {
                        Log.SubscriptionStandby(_logger, name, _source.Table, _options.LeaderRetryInterval);
                        announced = true;
                    }

                    SetState(SubscriptionState.Standby);
                    await SchedulerTime.Delay(_scheduler, _options.LeaderRetryInterval, token).ConfigureAwait(false);
                }
            }

            var stored = name is null ? null : await session.LoadCheckpointAsync(name, token).ConfigureAwait(false);
            LogPosition start;
            string from;
            if (positioned)
            {
                start = stored is { } s ? LogPosition.Max(s, checkpoints.Handled) : checkpoints.Handled;
                from = "resuming";
            }
            else if (stored is { } s)
            {
                start = s;
                from = "stored checkpoint";
            }
            else
            {
                start = _options.From.Position ?? await session.EndAsync(token).ConfigureAwait(false);
                from = _options.From.ToString();
            }

            // A name seen for the first time stores where it starts at once: started at End and killed before its
            // first checkpoint, it would otherwise start at a new End next time, and never see what came between.
            if (name is not null && stored is null)
            {
                await session.StoreCheckpointAsync(name, start, token).ConfigureAwait(false);
                stored = start;
            }

            checkpoints.Start(start, stored);
            using (_gate.EnterScope())
            {
                _checkpoint = stored;
            }

            Log.SubscriptionReading(_logger, _displayName, _source.Table, start.ToString(), from);
            SetState(SubscriptionState.CatchingUp);
            return session;
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // A page read ahead that will not be used (the loop stops, or drops its session): its outcome is not wanted,
    // but the read has to end before the session stores a checkpoint or closes (the session waits for it anyway).
    private static async Task ForgetAsync(Task<LogPage>? ahead)
    {
        if (ahead is not null)
        {
            try
            {
                await ahead.ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Whatever ended it, the loop reads that page again from what it handled.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    private static async Task DropAsync(ILogSession? session)
    {
        if (session is not null)
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<Backoff> WaitToReconnectAsync(Backoff? backoff, Exception error, CancellationToken token)
    {
        backoff ??= _reconnect.Start();
        SetState(SubscriptionState.Reconnecting);
        Log.SubscriptionReconnecting(_logger, error, _displayName, _source.Table, backoff.Attempts + 1, backoff.NextDelay.TotalMilliseconds);
        await backoff.WaitAsync(token).ConfigureAwait(false);
        return backoff;
    }

    // Committed rows waiting behind an older open transaction: measured from the first read that saw them so, and
    // warned about once per episode, naming the transaction, because only a person can end it.
    private async Task WatchHeldBackAsync(ILogSession session, bool heldBack, CancellationToken token)
    {
        var now = _scheduler.Now;
        if (!heldBack)
        {
            if (_heldWarned && _heldSince is { } since)
            {
                Log.SubscriptionReleased(_logger, _displayName, _source.Table, (now - since).TotalSeconds);
            }

            using (_gate.EnterScope())
            {
                _heldSince = null;
            }

            _heldWarned = false;
            return;
        }

        using (_gate.EnterScope())
        {
            _heldSince ??= now;
        }

        var waited = now - _heldSince.Value;
        if (_heldWarned || waited < _options.HeldBackWarning)
        {
            return;
        }

        _heldWarned = true;
        string holder;
        try
        {
            holder = await session.DescribeFenceHolderAsync(token).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            holder = "unknown (" + e.Message + ")";
        }

        Log.SubscriptionHeldBack(_logger, _displayName, _source.Table, waited.TotalSeconds, holder);
    }

    // Called by a metrics listener on its own thread. The scheduler's clock is read outside the gate: a scheduler
    // may hold a lock of its own while it runs the loop's work, which takes the gate (a TestScheduler advancing
    // time does), and taking the two in the other order here deadlocked them.
    internal double HeldBackSeconds()
    {
        DateTimeOffset? heldSince;
        using (_gate.EnterScope())
        {
            heldSince = _heldSince;
        }

        return heldSince is { } since ? Math.Max(0, (_scheduler.Now - since).TotalSeconds) : 0;
    }

    private async Task StoreAsync(ILogSession session, Checkpointer checkpoints, CancellationToken token)
    {
        if (_options.Name is not { } name)
        {
            return;
        }

        var position = checkpoints.Handled;
        await session.StoreCheckpointAsync(name, position, token).ConfigureAwait(false);
        checkpoints.WasStored(position);
        using (_gate.EnterScope())
        {
            _checkpoint = position;
        }
    }

    // When the enumeration ends (its token is likely cancelled already): one attempt, logged if it fails.
    private async Task StoreOnStopAsync(ILogSession session, Checkpointer checkpoints)
    {
        try
        {
            await StoreAsync(session, checkpoints, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Stopping goes on; the previous checkpoint stays and the tail is re-delivered.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.CheckpointNotStored(_logger, e, _displayName, _source.Table, checkpoints.Handled.ToString());
        }
    }

    // A notification or the poll interval, whichever comes first; the losing timer is cancelled.
    private async Task WaitForRowsAsync(TimeSpan interval, CancellationToken token)
    {
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(token);
        var woken = _wake.WaitAsync(waiting.Token);
        var polled = SchedulerTime.Delay(_scheduler, interval, waiting.Token);
        await Task.WhenAny(woken, polled).ConfigureAwait(false);
        await waiting.CancelAsync().ConfigureAwait(false);
        token.ThrowIfCancellationRequested();
    }

    private void SetState(SubscriptionState state)
    {
        using (_gate.EnterScope())
        {
            if (_state == state)
            {
                return;
            }

            _state = state;
        }

        _states.OnNext(state);
    }

    // What a reconnect can fix: the connection dropped, the server restarts or is not accepting connections
    // yet, too many connections. Npgsql marks most of these IsTransient; a socket or stream failure arrives as
    // a plain NpgsqlException (not a PostgresException). Two calls on the session's connection at once is a bug of
    // ours, never fixed by reconnecting: it faults, to be seen.
    private static bool IsTransient(Exception error) => error switch
    {
        NpgsqlOperationInProgressException => false,
        PostgresException postgres => postgres.IsTransient ||
            postgres.SqlState.StartsWith("08", StringComparison.Ordinal) ||
            postgres.SqlState.StartsWith("57P", StringComparison.Ordinal),
        NpgsqlException => true,
        TimeoutException => true,
        _ => false,
    };
}
