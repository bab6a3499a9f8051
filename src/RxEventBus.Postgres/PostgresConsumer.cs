using System.Reactive.Linq;
using System.Reactive.Subjects;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using RxEventBus.Postgres.Internal;
using RxEventBus.Postgres.Pipeline;

namespace RxEventBus.Postgres;

/// <summary>
/// Persists a bus's events to PostgreSQL (the seed's <c>event_bus_postgres</c>, without its faults). A tracked
/// subscription feeds a bounded buffer, which the pipeline pulls as an <see cref="IAsyncEnumerable{T}"/>: each
/// event is mapped to a row, rows are batched by count or age, and each batch is written with one binary
/// COPY in its own transaction by one of <see cref="PostgresPersistenceOptions.PoolSize"/> writers. An event
/// is marked completed on the bus only after its batch committed.
/// </summary>
/// <remarks>
/// Every accepted event is, at every moment, committed, or held in memory and visible on the bus as pending
/// (<see cref="EventBus.Pending"/>), or its publisher got an exception (overflow policy Fail, or a stop).
/// Transient failures are retried with backoff for as long as it takes; an event that can never be written
/// goes to <see cref="DeadLetters"/> and the rest of its batch commits.
/// </remarks>
public sealed class PostgresConsumer : IAsyncDisposable
{
    private readonly EventBus _bus;
    private readonly PostgresPersistenceOptions _options;
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly ILogger _logger;
    private readonly PersistenceMetrics _metrics;
    private readonly ConsumerCounters _counters;
    private readonly EventQueue _queue;
    private readonly EventMapper _mapper;
    private readonly CopyWriter _writer;
    private readonly Subject<DeadLetter> _deadLetters = new();
    private readonly Lock _deadLettersGate = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _lifecycle = new();
    private IDisposable? _subscription;
    private TtlCleaner? _ttlCleaner;
    private Task? _run;
    private Task? _stop;
    private IReadOnlyList<Event> _unwritten = [];

    /// <summary>Creates a consumer of <paramref name="bus"/>; nothing happens until <see cref="StartAsync"/>.</summary>
    /// <param name="bus">The bus whose events to persist.</param>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="dataSource">The database to write to; null to build one from
    /// <see cref="PostgresPersistenceOptions.ConnectionString"/> (and dispose it with the consumer).</param>
    /// <param name="logger">Where retries, drops, dead letters and schema creation are logged.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public PostgresConsumer(EventBus bus, PostgresPersistenceOptions options, NpgsqlDataSource? dataSource = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(options);
        // A given data source says where the database is; everything else must still be valid.
        options.Validate(requireConnectionString: dataSource is null);

        _bus = bus;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        Table = new EventTable(options.Schema, options.Table);
        _metrics = new PersistenceMetrics(Table);
        _counters = new ConsumerCounters(_metrics);
        _ownsDataSource = dataSource is null;
        _dataSource = dataSource ?? BuildDataSource(options);
        _queue = new EventQueue(options.BufferSize, options.Overflow, _counters.Received, Dropped);
        _mapper = new EventMapper(options.Serializer, options.DefaultTtl);
        _writer = new CopyWriter(
            _dataSource, Table, bus.Scheduler, options.InitialRetryDelay, options.MaxRetryDelay, _counters, _metrics, _logger,
            Acknowledge, (row, error) => DeadLetter(row.Delivery, new DeadLetter(row.Event,
                $"Event {row.Event.Id} cannot be written: PostgreSQL refused its row ({error.Message}).", error)));
        Store = new EventStore(_dataSource, Table, options.Serializer, bus.Scheduler);
        DeadLetters = _deadLetters.AsObservable();
    }

    /// <summary>The table the consumer writes to.</summary>
    public EventTable Table { get; }

    /// <summary>Queries over the persisted events.</summary>
    public EventStore Store { get; }

    /// <summary>Events that can never be written, with the reason. Each is also logged and marked skipped on the bus.</summary>
    public IObservable<DeadLetter> DeadLetters { get; }

    /// <summary>What the consumer has done so far.</summary>
    public PersistenceStatistics Statistics => _counters.Snapshot(_queue.Count);

    /// <summary>
    /// After a stop that timed out: the accepted events that were not written (they were also logged). Empty
    /// after a clean stop.
    /// </summary>
    public IReadOnlyList<Event> Unwritten => Volatile.Read(ref _unwritten);

    /// <summary>
    /// Creates the schema if <see cref="PostgresPersistenceOptions.EnsureSchema"/> says so, subscribes to the
    /// bus and starts the pipeline. Does not fail when the database is unreachable: the pipeline keeps trying
    /// to create the schema, with backoff, while events are buffered within
    /// <see cref="PostgresPersistenceOptions.BufferSize"/> (then the overflow policy applies).
    /// </summary>
    /// <exception cref="InvalidOperationException">The consumer was already started.</exception>
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

        var schemaBackoff = new Backoff(_bus.Scheduler, _options.InitialRetryDelay, _options.MaxRetryDelay);
        var schemaReady = !_options.EnsureSchema || await TryEnsureSchemaAsync(schemaBackoff, cancellationToken).ConfigureAwait(false);
        _subscription = _bus.Tracked(_options.SubscriberName, [.. _options.Topics]).Subscribe(_queue);
        _metrics.ObserveQueue(() => _queue.Count);
        _run = Task.Run(() => RunAsync(schemaReady ? null : schemaBackoff, _abort.Token), CancellationToken.None);
        if (_options.AutoDeleteWithTtl)
        {
            _ttlCleaner = new TtlCleaner(Store, _options.DeletionPeriod, _logger);
            _ttlCleaner.Start();
        }

        Log.ConsumerStarted(_logger, string.Join(';', _options.Topics), Table.QualifiedName, _options.PoolSize, _options.MaxBatchSize);
    }

    /// <summary>
    /// Stops intake (later events, and publishers waiting for room, get <see cref="EventRejectedException"/>
    /// until the consumer is disposed),
    /// drains the buffer, writes the last partial batch and waits for the writers — for at most
    /// <see cref="PostgresPersistenceOptions.ShutdownTimeout"/> of the bus's scheduler time, or until
    /// <paramref name="cancellationToken"/> fires. Whatever could not be written by then is logged and listed
    /// in <see cref="Unwritten"/>, never dropped silently.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_lifecycle)
        {
            return _stop ??= StopCoreAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Stops (see <see cref="StopAsync"/>), leaves the bus (which then skips whatever was left unwritten, and
    /// stops refusing events of the persisted topics) and releases the database connections the consumer owns.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _subscription?.Dispose();
        _metrics.Dispose();
        _abort.Dispose();
        _deadLetters.Dispose();
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    // `schemaBackoff` is null when the schema is in place; otherwise the pipeline creates it before reading.
    private async Task RunAsync(Backoff? schemaBackoff, CancellationToken cancellationToken)
    {
        if (schemaBackoff is not null)
        {
            do
            {
                await schemaBackoff.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            while (!await TryEnsureSchemaAsync(schemaBackoff, cancellationToken).ConfigureAwait(false));
        }

        var batches = _queue.ReadAllAsync(cancellationToken)
            .Select(_mapper.MapAsync)
            .Batch(_options.MaxBatchSize, _options.MaxBatchDelay, _bus.Scheduler, cancellationToken)
            .Prefetch(1, cancellationToken);
        await Parallel.ForEachAsync(
            batches,
            new ParallelOptions { MaxDegreeOfParallelism = _options.PoolSize, CancellationToken = cancellationToken },
            WriteBatchAsync).ConfigureAwait(false);
    }

    // Tried once by StartAsync, then by the pipeline until it works: a consumer started while the database is
    // down buffers (within its bound) and catches up once the database is there, instead of failing its
    // host's start.
    private async Task<bool> TryEnsureSchemaAsync(Backoff backoff, CancellationToken cancellationToken)
    {
        try
        {
            await SchemaManager.EnsureSchemaAsync(_dataSource, Table, cancellationToken).ConfigureAwait(false);
            Log.SchemaEnsured(_logger, Table.QualifiedName);
            return true;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            _counters.Retried();
            Log.SchemaRetry(_logger, e, Table.QualifiedName, backoff.Attempts + 1, backoff.NextDelay.TotalMilliseconds);
            return false;
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
                if (mapped.DeadLetter is { } deadLetter)
                {
                    DeadLetter(mapped.Delivery, deadLetter);
                }
                else
                {
                    rows.Add(mapped.Row);
                }
            }

            if (rows.Count != 0)
            {
                await _writer.WriteAsync(rows, cancellationToken).ConfigureAwait(false);
            }
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

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        if (_ttlCleaner is not null)
        {
            await _ttlCleaner.DisposeAsync().ConfigureAwait(false);
        }

        _queue.Complete();
        var run = _run ?? Task.CompletedTask;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            var deadline = SchedulerTime.Delay(_bus.Scheduler, _options.ShutdownTimeout, timeout.Token);
            if (await Task.WhenAny(run, deadline).ConfigureAwait(false) != run)
            {
                await _abort.CancelAsync().ConfigureAwait(false);
            }

            await timeout.CancelAsync().ConfigureAwait(false);
        }

        try
        {
            await run.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // The shutdown timed out: what is left is reported below.
        }

        // The subscription stays until DisposeAsync, refusing every new event with a clear error, so that
        // a publisher never mistakes an event published after the stop for a persisted one.
        var unwritten = _bus.Owed(_options.SubscriberName);
        foreach (var @event in unwritten)
        {
            Log.Unwritten(_logger, @event.Id, @event.Topic);
        }

        Volatile.Write(ref _unwritten, unwritten);
        Log.ConsumerStopped(_logger, Table.QualifiedName, Statistics.Persisted, unwritten.Count);
    }

    private void Acknowledge(IReadOnlyList<EventRow> rows)
    {
        foreach (var row in rows)
        {
            // False only if the bus already skipped it for us (the subscription went away): nothing to do.
            row.Delivery.TryMarkCompleted();
        }
    }

    private void Dropped(TrackedEvent delivery, string reason)
    {
        _counters.Dropped();
        delivery.TryMarkSkipped();
        Log.EventDropped(_logger, delivery.Event.Id, delivery.Event.Topic, reason);
    }

    // A dead letter is answered "skipped" on the bus: this subscriber is done with it, it is not stored.
    private void DeadLetter(TrackedEvent delivery, DeadLetter deadLetter)
    {
        _counters.DeadLettered();
        delivery.TryMarkSkipped();
        Log.DeadLetter(_logger, deadLetter.Exception, deadLetter.Reason);
        using (_deadLettersGate.EnterScope())
        {
            _deadLetters.OnNext(deadLetter);
        }
    }

    private static NpgsqlDataSource BuildDataSource(PostgresPersistenceOptions options)
    {
        var builder = new NpgsqlDataSourceBuilder(options.ConnectionString);
        builder.ConnectionStringBuilder.MaxPoolSize = options.DatabasePoolSize;
        return builder.Build();
    }
}
