using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using RxEventBus.Postgres.Internal;
using RxEventBus.Postgres.Pipeline;
using RxEventBus.Postgres.Subscriptions;

namespace RxEventBus.Postgres;

/// <summary>
/// Persists a bus's events to PostgreSQL. A tracked subscription feeds a bounded buffer, which the pipeline pulls
/// as an <see cref="IAsyncEnumerable{T}"/>: each event is mapped to a row, rows are batched by count or age, and
/// each batch is written with one binary COPY in its own transaction by one of
/// <see cref="PostgresPersistenceOptions.PoolSize"/> writers. An event is marked completed on the bus only after
/// its batch committed.
/// </summary>
/// <remarks>
/// <para>Every accepted event is, at every moment, committed, or held in memory and visible on the bus as pending
/// (<see cref="EventBus.Pending"/>), or stored as a dead letter, or its publisher got an exception.</para>
/// <para>Nothing fails silently: failed writes are retried with backoff for as long as it takes while
/// <see cref="Status"/> says <see cref="ConsumerState.Degraded"/> and why; an event that can never be written is
/// stored in the dead-letter table (<see cref="DeadLetterStore"/>) and reported on <see cref="DeadLetters"/>; a
/// fault the consumer cannot recover from makes it <see cref="ConsumerState.Faulted"/>, refuses new events and
/// faults <see cref="Completion"/>.</para>
/// </remarks>
public sealed class PostgresConsumer : IAsyncDisposable
{
    private readonly EventBus _bus;
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly ILogger _logger;
    private readonly PersistenceMetrics _metrics;
    private readonly ConsumerCounters _counters;
    private readonly ConsumerHealth _health;
    private readonly RetryPolicy _retry;
    private readonly EventQueue _queue;
    private readonly EventMapper _mapper;
    private readonly CopyWriter _writer;
    private readonly Acknowledger _acknowledger;
    private readonly PersistenceWaiters _waiters = new();
    private readonly InFlight _inFlight;
    private readonly ObserverList<DeadLetter> _deadLetters;
    private readonly ObserverList<TtlCleanupRun> _ttlCleanupRuns;
    private readonly CancellationTokenSource _abort = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lifecycle = new();
    private IDisposable? _subscription;
    private TtlCleaner? _ttlCleaner;
    private Task? _run;
    private Task? _stop;
    private SubscriptionEnd? _ended;
    private IReadOnlyList<Event> _unwritten = [];

    // The schema step's retries, shared by StartAsync's one attempt and the pipeline's later ones.
    private Backoff _schemaBackoff;
    private bool _schemaFailing;

    /// <summary>Creates a consumer of <paramref name="bus"/>; nothing happens until <see cref="StartAsync"/>.</summary>
    /// <param name="bus">The bus whose events to persist.</param>
    /// <param name="options">Settings; validated and copied here, so setting a property afterwards does not change the
    /// consumer (the <see cref="PostgresPersistenceOptions.Serializer"/> object itself is shared, not copied).</param>
    /// <param name="dataSource">The database to write to; null to build one from
    /// <see cref="PostgresPersistenceOptions.ConnectionString"/> (and dispose it with the consumer).</param>
    /// <param name="logger">Where state changes, retries, drops, dead letters and schema changes are logged.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public PostgresConsumer(EventBus bus, PostgresPersistenceOptions options, NpgsqlDataSource? dataSource = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(options);
        // The options are settable (the options pattern binds into them): the consumer runs on its own copy, so a
        // change made afterwards can neither break what was validated nor resize what was sized from it.
        options = options.Copy();
        // A given data source says where the database is; everything else must still be valid.
        options.ThrowIfInvalid(requireConnectionString: dataSource is null, PostgresPersistenceOptions.CodeName);

        _bus = bus;
        Options = options;
        _logger = logger ?? NullLogger.Instance;
        Table = options.ToEventTable();
        _metrics = new PersistenceMetrics(Table);
        _counters = new ConsumerCounters(_metrics);
        _health = new ConsumerHealth(bus.Scheduler, _logger, Table.QualifiedName, _counters);
        _retry = new RetryPolicy(bus.Scheduler, options.InitialRetryDelay, options.MaxRetryDelay, options.RetryJitter, options.RetryRandom ?? new Random());
        _schemaBackoff = _retry.Start();
        _ownsDataSource = dataSource is null;
        _dataSource = dataSource ?? options.CreateDataSource();
        _deadLetters = new ObserverList<DeadLetter>(e => Log.ObserverFailed(_logger, e, nameof(DeadLetters)));
        _ttlCleanupRuns = new ObserverList<TtlCleanupRun>(e => Log.ObserverFailed(_logger, e, nameof(TtlCleanupRuns)));
        _inFlight = new InFlight(((options.PoolSize + 2) * options.MaxBatchSize) + 2);
        _acknowledger = new Acknowledger(
            Table, _counters, _health, new DeadLetterWriter(_dataSource, Table, _retry, _health), _waiters, _inFlight, _deadLetters,
            SubscriptionEnded, _logger);
        _queue = new EventQueue(options.BufferSize, options.Overflow, options.PublishTimeout, bus.Scheduler, _acknowledger);
        _mapper = new EventMapper(options.Serializer, options.DefaultTtl, Table.Design.Payload);
        _writer = new CopyWriter(_dataSource, Table, _retry, _health, _metrics, _logger, Options.NotifyOnCommit);
        Store = new EventStore(_dataSource, Table, options.Serializer, bus.Scheduler);
        DeadLetterStore = new DeadLetterStore(_dataSource, Table, bus.Scheduler);
    }

    /// <summary>The settings the consumer runs with: a copy of those it was given, taken when it was created.</summary>
    public PostgresPersistenceOptions Options { get; }

    /// <summary>The table the consumer writes to.</summary>
    public EventTable Table { get; }

    /// <summary>Queries over the persisted events.</summary>
    /// <remarks>Stays usable after the consumer is disposed: over the caller's data source, for as long as the
    /// caller keeps that open; over the pool the consumer built, with one unpooled connection per call once the
    /// pool is disposed.</remarks>
    public EventStore Store { get; }

    /// <summary>The dead-letter table: list, count, replay into the events table, purge.</summary>
    /// <remarks>Stays usable after the consumer is disposed, as <see cref="Store"/> does.</remarks>
    public DeadLetterStore DeadLetterStore { get; }

    /// <summary>
    /// Each event that can never be written as it is, once it is stored in the dead-letter table (it is also logged
    /// and marked skipped on the bus). Hot. An observer that throws is logged and keeps receiving; it never
    /// disturbs the pipeline or the other observers. Observers are called on a writer's thread, which waits for
    /// them: keep them short, and hop with <c>ObserveOn</c> before publishing to a persisted topic from one.
    /// </summary>
    public IObservable<DeadLetter> DeadLetters => _deadLetters;

    /// <summary>
    /// Each finished run of the TTL cleaner that <see cref="PostgresPersistenceOptions.AutoDeleteWithTtl"/> starts
    /// (see <see cref="TtlCleaner.Runs"/>): when it ran by the bus's scheduler, how many rows it deleted, or why it
    /// failed. Hot; never emits when <c>AutoDeleteWithTtl</c> is off. Observers are isolated like those of
    /// <see cref="DeadLetters"/> and called on the thread that finished the run; completes when the consumer is disposed.
    /// </summary>
    /// <remarks>With a virtual-time scheduler, a test advances the clock by <see cref="PostgresPersistenceOptions.DeletionPeriod"/>
    /// and awaits the next run here instead of polling the table.</remarks>
    public IObservable<TtlCleanupRun> TtlCleanupRuns => _ttlCleanupRuns;

    /// <summary>What the consumer has done so far.</summary>
    public PersistenceStatistics Statistics => _counters.Snapshot(_queue.Count);

    /// <summary>The consumer's state now, why, and when a batch last committed.</summary>
    public ConsumerStatus Status => _health.Status;

    /// <summary>
    /// Each change of <see cref="Status"/>, in order. Hot; observers are isolated like those of <see cref="DeadLetters"/>,
    /// and called on the thread that changed the state (a writer, the stop): keep them short.
    /// </summary>
    public IObservable<ConsumerStatus> StatusChanges => _health.Changes;

    /// <summary>
    /// Completes when the consumer has stopped (<see cref="StopAsync"/>, or the bus ended its subscription); faults
    /// with the error when the consumer faults. Await it beside the application's work so a crash of persistence
    /// surfaces instead of going unnoticed.
    /// </summary>
    public Task Completion => _completion.Task;

    /// <summary>
    /// After a stop that timed out, or a fault: the accepted events the consumer still held, not written (they were
    /// also logged) — whether or not the bus still holds them as pending. Empty after a clean stop.
    /// </summary>
    public IReadOnlyList<Event> Unwritten => Volatile.Read(ref _unwritten);

    /// <summary>
    /// Checks the events table — creating or migrating what can be added safely if
    /// <see cref="PostgresPersistenceOptions.EnsureSchema"/> says so, else only verifying it — subscribes to the bus
    /// and starts the pipeline. Does not fail when the database is unreachable: the pipeline keeps trying, with
    /// backoff, while events are buffered within <see cref="PostgresPersistenceOptions.BufferSize"/> and the
    /// consumer reports itself <see cref="ConsumerState.Degraded"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The consumer was already started, or it cannot subscribe to the bus
    /// (another tracked subscriber already has its <see cref="PostgresPersistenceOptions.SubscriberName"/>).</exception>
    /// <exception cref="SchemaMismatchException">The events table (or its dead-letter table) differs from what the
    /// consumer writes in a way that cannot be fixed safely; the message names each difference.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_lifecycle)
        {
            if (_run is not null || _stop is not null)
            {
                throw new InvalidOperationException("The persistence consumer was already started.");
            }

            _run = Task.CompletedTask;
        }

        bool schemaReady;
        try
        {
            schemaReady = await PrepareSchemaAsync(retryUntilReady: false, cancellationToken).ConfigureAwait(false);
        }
        catch (SchemaMismatchException e)
        {
            Fault("the events table does not match what the consumer writes", e);
            throw;
        }

        // The rest runs under the lifecycle lock, without awaiting: a StopAsync that came while the table was being
        // checked wins, and one that comes now waits until the pipeline it must stop exists.
        Exception? refused = null;
        lock (_lifecycle)
        {
            if (_stop is not null)
            {
                throw new InvalidOperationException(
                    "The persistence consumer was stopped while it was starting; it did not subscribe to the bus.");
            }

            _subscription = _bus.Tracked(Options.SubscriberName, [.. Options.Topics]).Subscribe(LogOrigin.SkipRowsOf(Table, _queue));
            if (Volatile.Read(ref _ended) is { Error: { } error })
            {
                // The bus refused the subscription at once (a tracked subscriber of that name is already there).
                refused = new InvalidOperationException(
                    $"The persistence consumer cannot subscribe to the bus as '{Options.SubscriberName}': {error.Message} " +
                    "Give each consumer of one bus its own SubscriberName.", error);
            }
            else
            {
                _metrics.ObserveQueue(() => _queue.Count);
                _run = Task.Run(() => RunAsync(schemaReady), CancellationToken.None);
                // A partitioned table needs the runs to make its partitions ahead even when nothing is deleted.
                if (Options.AutoDeleteWithTtl || Table.IsPartitioned)
                {
                    _ttlCleaner = new TtlCleaner(Store, Options.DeletionPeriod, _logger)
                    {
                        SparesUnreadEvents = Options.TtlSparesUnreadEvents,
                        DeletesExpired = Options.AutoDeleteWithTtl,
                        PartitionsAhead = Table.IsPartitioned && Options.EnsureSchema ? PartitionsAhead : null,
                    };
                    _ttlCleaner.Runs.Subscribe(_ttlCleanupRuns.OnNext);
                    _ttlCleaner.Start();
                }
            }
        }

        if (refused is not null)
        {
            Fault(refused.Message, refused);
            throw refused;
        }

        _health.Started();
        Log.ConsumerStarted(_logger, string.Join(';', Options.Topics), Table.QualifiedName, Options.PoolSize, Options.MaxBatchSize);
    }

    /// <summary>
    /// Publishes <paramref name="event"/> on the bus and completes once it is durable: when its batch committed. For a
    /// caller that must not answer its own caller before the event is stored (an HTTP handler returning 202, a
    /// command handler). Publishers that do not await pay nothing for this.
    /// </summary>
    /// <remarks>
    /// <para>Publishing is <see cref="EventBus.Publish(Event)"/>'s: synchronous, to every subscriber, and under the
    /// Wait overflow policy it may block for up to <see cref="PostgresPersistenceOptions.PublishTimeout"/> before
    /// the await begins.</para>
    /// <para>Cancelling <paramref name="cancellationToken"/> stops the waiting, not the event: it may still be
    /// persisted.</para>
    /// </remarks>
    /// <exception cref="EventNotPersistedException">The event will not be in the table: dropped by the overflow policy,
    /// stored as a dead letter, unwritten because the consumer stopped or faulted first, or never received
    /// (its topic is not persisted, or the consumer is not running). <see cref="EventNotPersistedException.Outcome"/>
    /// says which.</exception>
    /// <exception cref="EventRejectedException">The consumer refused the event (a full buffer under Fail, the publish
    /// timeout, a stopping consumer).</exception>
    /// <exception cref="InvalidOperationException">Another <c>PublishAsync</c> is awaiting an event with the same id.</exception>
    /// <inheritdoc cref="EventBus.Publish(Event)" path="/exception"/>
    public async Task PublishAsync(Event @event, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(@event);
        var waiter = _waiters.Add(@event);
        try
        {
            _bus.Publish(@event);
        }
        catch
        {
            _waiters.Remove(waiter);
            throw;
        }

        // Delivery to the consumer is synchronous: by now its queue accepted the event, dropped it, or never saw it.
        if (!waiter.Accepted && !waiter.Completion.Task.IsCompleted)
        {
            _waiters.Remove(waiter);
            var state = _health.State;
            throw new EventNotPersistedException(@event.Id, @event.Topic, PersistenceOutcome.NotPersisted, state is ConsumerState.Running or ConsumerState.Degraded
                ? $"the consumer did not receive it: topic '{@event.Topic}' does not match its topics ({string.Join(';', Options.Topics)})"
                : $"the consumer did not receive it: it is {state}");
        }

        try
        {
            await waiter.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _waiters.Remove(waiter);
            throw;
        }
    }

    /// <summary>
    /// Builds an event for <paramref name="data"/> (<see cref="EventBus.CreateEvent"/>), publishes it and completes
    /// once it is durable; see <see cref="PublishAsync(Event, CancellationToken)"/>.
    /// </summary>
    /// <returns>The persisted event.</returns>
    /// <inheritdoc cref="PublishAsync(Event, CancellationToken)" path="/exception"/>
    public async Task<Event> PublishAsync<T>(string topic, T data, CancellationToken cancellationToken = default)
        where T : notnull
    {
        var @event = _bus.CreateEvent(topic, data);
        await PublishAsync(@event, cancellationToken).ConfigureAwait(false);
        return @event;
    }

    /// <summary>
    /// Replays the dead letter of event <paramref name="id"/> through the bus: the event is rebuilt from what was
    /// stored (its payload read with <see cref="PostgresPersistenceOptions.Serializer"/>), published — so the bus's
    /// other subscribers see it too — and awaited; once it commits, its dead letter is removed. If it fails again,
    /// the dead letter stays, with one more attempt and the new reason. To write it straight into the table
    /// instead, use <see cref="DeadLetterStore.ReplayToTableAsync"/>.
    /// </summary>
    /// <param name="id">The event's id.</param>
    /// <param name="cancellationToken">Cancels the reads and the wait.</param>
    /// <exception cref="TopicNotRegisteredException">The event's topic is not registered on the bus.</exception>
    /// <exception cref="EventRejectedException">The consumer refused the event.</exception>
    public async Task<DeadLetterReplay> ReplayDeadLetterAsync(Guid id, CancellationToken cancellationToken = default)
    {
        if (await DeadLetterStore.FindAsync(id, cancellationToken).ConfigureAwait(false) is not { } stored)
        {
            return new DeadLetterReplay(id, DeadLetterReplayOutcome.NotFound);
        }

        if (stored.Data is null)
        {
            return new DeadLetterReplay(id, DeadLetterReplayOutcome.FailedAgain, "its payload could not be serialized, so there is nothing to publish");
        }

        // The bytes as stored, not stored.Data's text: a bytea table's payload need not be UTF-8. None: purged meanwhile.
        if (await DeadLetterStore.PayloadAsync(id, cancellationToken).ConfigureAwait(false) is not { } payload)
        {
            return new DeadLetterReplay(id, DeadLetterReplayOutcome.NotFound);
        }

        var @event = new Event
        {
            Id = stored.Id,
            Topic = stored.Topic,
            Data = Options.Serializer.Deserialize(stored.Topic, payload),
            TransactionId = stored.TransactionId,
            InitializedAt = stored.InitializedAt,
            OccurredAt = stored.OccurredAt,
            Source = stored.Source,
            Ttl = stored.Ttl,
        };
        try
        {
            await PublishAsync(@event, cancellationToken).ConfigureAwait(false);
        }
        catch (EventNotPersistedException e)
        {
            // Dead-lettered again: the writer stored the new attempt. Otherwise the dead letter simply stays.
            return new DeadLetterReplay(id, DeadLetterReplayOutcome.FailedAgain, e.Message);
        }

        await DeadLetterStore.PurgeAsync(id, cancellationToken).ConfigureAwait(false);
        PersistenceMetrics.Replayed(Table);
        Log.DeadLetterReplayed(_logger, id, stored.Topic, "through the bus");
        return new DeadLetterReplay(id, DeadLetterReplayOutcome.Replayed);
    }

    /// <summary>
    /// Stops intake (later events, and publishers waiting for room, get <see cref="EventRejectedException"/> until the
    /// consumer is disposed), drains the buffer, writes the last partial batch and waits for the writers — for at
    /// most <see cref="PostgresPersistenceOptions.ShutdownTimeout"/> of the bus's scheduler time, or until
    /// <paramref name="cancellationToken"/> fires. Whatever could not be written by then is logged and listed in
    /// <see cref="Unwritten"/>, never dropped silently. Does not throw for an earlier fault: that is in
    /// <see cref="Status"/> and <see cref="Completion"/>.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_lifecycle)
        {
            return _stop ??= StopCoreAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Stops (see <see cref="StopAsync"/>), leaves the bus (which then skips whatever was left unwritten, and stops
    /// refusing events of the persisted topics) and releases the database connections the consumer owns — always,
    /// even after a fault.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync().ConfigureAwait(false);
        }
        finally
        {
            if (_ttlCleaner is not null)
            {
                await _ttlCleaner.DisposeAsync().ConfigureAwait(false);
            }

            _subscription?.Dispose();
            _metrics.Dispose();
            _deadLetters.OnCompleted();
            _ttlCleanupRuns.OnCompleted();
            _health.Changes.OnCompleted();
            if (_ownsDataSource)
            {
                // Stores handed out earlier outlive the pool: they go on with unpooled connections.
                Store.Connections.MoveOffPool(Options.ConnectionString);
                DeadLetterStore.Connections.MoveOffPool(Options.ConnectionString);
                await _dataSource.DisposeAsync().ConfigureAwait(false);
            }

            _abort.Dispose();
        }
    }

    // Never throws: how the pipeline ended becomes the consumer's state (and Completion).
    private async Task RunAsync(bool schemaReady)
    {
        var cancellationToken = _abort.Token;
        Exception? failure = null;
        try
        {
            if (!schemaReady)
            {
                await _schemaBackoff.WaitAsync(cancellationToken).ConfigureAwait(false);
                await PrepareSchemaAsync(retryUntilReady: true, cancellationToken).ConfigureAwait(false);
            }

            var batches = _queue.ReadAllAsync(cancellationToken)
                .Select((delivery, token) => _mapper.MapAsync(delivery, _inFlight.Add(delivery), token))
                .Batch(Options.MaxBatchSize, Options.MaxBatchDelay, _bus.Scheduler, cancellationToken)
                .Prefetch(1, cancellationToken);
            await Parallel.ForEachAsync(
                batches,
                new ParallelOptions { MaxDegreeOfParallelism = Options.PoolSize, CancellationToken = cancellationToken },
                WriteBatchAsync).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // The stop timed out: StopCoreAsync reports what is left. An end of the subscription by an error still
            // faults the consumer below.
        }
#pragma warning disable CA1031 // Every failure of the pipeline becomes the consumer's Faulted state; none may vanish in a task nobody awaits.
        catch (Exception e)
#pragma warning restore CA1031
        {
            failure = e;
        }

        if (failure is SchemaMismatchException)
        {
            Fault("the events table does not match what the consumer writes", failure);
        }
        else if (failure is not null)
        {
            Fault($"the persistence pipeline failed: {failure.Message}", failure);
        }
        else if (Volatile.Read(ref _ended) is { } ended)
        {
            // The buffer drained (or the stop cut the drain short) after the bus ended the subscription.
            if (ended.Error is { } error)
            {
                Fault($"its subscription to the bus ended with an error: {error.Message}", error);
            }
            else if (!_abort.IsCancellationRequested)
            {
                await EndAsync("the bus ended the subscription (the bus was disposed, or the subscriber was unsubscribed)").ConfigureAwait(false);
            }
        }
    }

    // How far ahead of now a partitioned table's partitions must exist: an event written just before the next run
    // of the cleaner, with the default ttl, expires within DefaultTtl + DeletionPeriod; one more interval so that the
    // range after it is there too. Events with a longer ttl wait in the default partition until a run makes theirs.
    private TimeSpan PartitionsAhead => Options.DefaultTtl + Options.DeletionPeriod + (Table.Design.PartitionInterval ?? TimeSpan.Zero);

    // Returns whether the table is ready. With retryUntilReady false (StartAsync), a failure a retry may fix is
    // reported and left to the pipeline; a SchemaMismatchException is always thrown: no retry fixes it.
    private async Task<bool> PrepareSchemaAsync(bool retryUntilReady, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                var report = Options.EnsureSchema
                    ? await SchemaManager.EnsureSchemaAsync(_dataSource, Table, cancellationToken).ConfigureAwait(false)
                    : await SchemaManager.VerifySchemaAsync(_dataSource, Table, cancellationToken).ConfigureAwait(false);
                foreach (var change in report.Changes)
                {
                    Log.SchemaChanged(_logger, Table.QualifiedName, change);
                }

                foreach (var warning in report.Warnings)
                {
                    Log.SchemaWarning(_logger, Table.QualifiedName, warning);
                }

                if (Table.IsPartitioned && Options.EnsureSchema)
                {
                    var made = await SchemaManager.CreatePartitionsAsync(_dataSource, Table, _bus.Scheduler.Now, PartitionsAhead, cancellationToken).ConfigureAwait(false);
                    if (made.Count > 0)
                    {
                        Log.PartitionsCreated(_logger, Table.QualifiedName, string.Join(", ", made));
                    }
                }

                Log.SchemaEnsured(_logger, Table.QualifiedName);
                _health.Recovered(ref _schemaFailing);
                return true;
            }
            catch (Exception e) when (e is not SchemaMismatchException && !cancellationToken.IsCancellationRequested)
            {
                var kind = WriteFailures.Classify(e) == FailureKind.Transient ? FailureKind.Transient : FailureKind.NeedsAttention;
                _health.RetryScheduled(
                    $"Checking the events table {Table.QualifiedName}", kind, e, _schemaBackoff.Attempts + 1, _schemaBackoff.NextDelay, ref _schemaFailing);
                if (!retryUntilReady)
                {
                    return false;
                }

                await _schemaBackoff.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask WriteBatchAsync(List<MappedEvent> batch, CancellationToken cancellationToken)
    {
        _counters.Batched(batch.Count);
        var rows = new List<EventRow>(batch.Count);
        try
        {
            foreach (var mapped in batch)
            {
                if (mapped.DeadLetter is null)
                {
                    rows.Add(mapped.Row);
                }
            }

            var result = rows.Count == 0 ? new WriteResult() : await _writer.WriteAsync(rows, cancellationToken).ConfigureAwait(false);
            await _acknowledger.BatchWrittenAsync(batch, result, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // A batch of thousands is an array on the large-object heap, which only a full collection frees.
            // Left filled, it would be an old object pointing at young ones to every younger collection: it
            // would keep each event of the batch alive and have it promoted (RetentionTests). Unwritten
            // events are still held by the bus as pending, so clearing loses nothing.
            rows.Clear();
            batch.Clear();
        }
    }

    // From the queue, on whichever thread the bus ended the subscription (at once, inside Subscribe, when the bus
    // refuses it), before the queue stops intake. The pipeline writes what it holds, then RunAsync settles the state.
    private void SubscriptionEnded(Exception? error)
    {
        Volatile.Write(ref _ended, new SubscriptionEnd(error));
        Log.SubscriptionEnded(_logger, error, error is null ? "it was completed: the bus was disposed, or the subscriber unsubscribed" : "with an error: " + error.Message);
    }

    // What the consumer accepted and has not answered: in flight between its buffer and its writers (its own
    // ledger), then still in its buffer. Not the bus's view: the bus may have skipped them already (see InFlight).
    private List<Event> Held() =>
        [.. _inFlight.Snapshot().Select(static d => d.Event), .. _queue.Snapshot().Select(static d => d.Event)];

    private void Fault(string reason, Exception error)
    {
        _health.Faulted(reason, error);
        _queue.Complete($"the persistence consumer faulted: {reason}");
        var unwritten = Held();
        if (unwritten.Count != 0)
        {
            Volatile.Write(ref _unwritten, unwritten);
            _acknowledger.Unwritten(unwritten, "the consumer faulted before writing it: " + reason);
        }

        _waiters.FailAll(PersistenceOutcome.Unwritten, "the consumer faulted before writing it: " + reason);
        _completion.TrySetException(error);
    }

    // The bus ended the subscription without an error and the consumer wrote everything it held.
    private async Task EndAsync(string reason)
    {
        lock (_lifecycle)
        {
            if (_stop is not null)
            {
                // A stop is under way: it reports the end.
                return;
            }
        }

        if (_ttlCleaner is not null)
        {
            await _ttlCleaner.DisposeAsync().ConfigureAwait(false);
        }

        _health.Stopped(reason);
        Log.ConsumerStopped(_logger, Table.QualifiedName, Statistics.Persisted, 0);
        _completion.TrySetResult();
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();

        // Intake closes before anyone hears of the stop: an observer of StatusChanges that publishes is refused at
        // once rather than waiting for room that a stopping consumer may never make.
        _queue.Complete();
        _health.Stopping();
        if (_ttlCleaner is not null)
        {
            await _ttlCleaner.DisposeAsync().ConfigureAwait(false);
        }

        var run = _run ?? Task.CompletedTask;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            var deadline = SchedulerTime.Delay(_bus.Scheduler, Options.ShutdownTimeout, timeout.Token);
            if (await Task.WhenAny(run, deadline).ConfigureAwait(false) != run)
            {
                await _abort.CancelAsync().ConfigureAwait(false);
            }

            await timeout.CancelAsync().ConfigureAwait(false);
        }

        await run.ConfigureAwait(false);

        // The subscription stays until DisposeAsync, refusing every new event with a clear error, so that a
        // publisher never mistakes an event published after the stop for a persisted one.
        var unwritten = Held();
        if (_health.State != ConsumerState.Faulted)
        {
            // A fault already reported (and logged) what it left.
            const string Reason = "the consumer stopped before writing it";
            _acknowledger.Unwritten(unwritten, Reason);
            _waiters.FailAll(PersistenceOutcome.Unwritten, Reason);
            Volatile.Write(ref _unwritten, unwritten);
        }

        _health.Stopped(unwritten.Count == 0 ? null : $"{unwritten.Count} accepted events were not written before the shutdown timeout");
        Log.ConsumerStopped(_logger, Table.QualifiedName, Statistics.Persisted, unwritten.Count);
        _completion.TrySetResult();
    }

    private sealed record SubscriptionEnd(Exception? Error);
}
