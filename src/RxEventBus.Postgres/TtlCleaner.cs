using System.Reactive.Concurrency;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

using RxEventBus.Postgres.Internal;

namespace RxEventBus.Postgres;

/// <summary>
/// Deletes expired events periodically (<c>EB_PG_AUTO_DELETE_WITH_TTL</c>): every
/// <see cref="DeletionPeriod"/> on the store's scheduler it runs <see cref="EventStore.DeleteExpiredAsync(bool, CancellationToken)"/>
/// with the time of the tick.
/// </summary>
/// <remarks>
/// <para>Runs never overlap: a tick that comes while the previous run is still working is skipped (and
/// counted in <see cref="SkippedRuns"/>) — the next run deletes whatever that one would have.</para>
/// <para>Across instances, only one cleans at a time: each run's delete is in a transaction that first tries the
/// table's cleaning lock (<c>pg_try_advisory_xact_lock</c>); when another instance holds it, the run deletes
/// nothing, is counted in <see cref="SkippedForOtherInstance"/>, logged (id 22, Debug) and reported with
/// <see cref="TtlCleanupRun.LeftToOtherInstance"/>.</para>
/// <para>With <see cref="SparesUnreadEvents"/> (the default), expired rows that a named subscription has not yet
/// passed are kept until every subscription has passed them.</para>
/// <para>For a table partitioned by <c>expires_at</c>, a run drops the partitions whose whole range has passed (every
/// row in them expired) and deletes row by row only the expired rows of the default partition; with
/// <see cref="PartitionsAhead"/>, it first makes the partitions ahead. An expired row in a partition whose range has
/// not passed stays until it has: at most one partition interval after it expired.</para>
/// <para>A failed run is logged and reported on <see cref="Runs"/>; the next tick runs as usual.</para>
/// <para>The delete itself runs on the thread pool, so a scheduler that owns a thread (an event loop, a UI
/// dispatcher) only times the runs and is never blocked by the database.</para>
/// </remarks>
public sealed class TtlCleaner : IDisposable, IAsyncDisposable
{
    private readonly EventStore _store;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly ObserverList<TtlCleanupRun> _runs;
    private readonly CancellationTokenSource _stopping = new();
    private IDisposable? _timer;
    private Task _current = Task.CompletedTask;
    private int _running;
    private long _totalDeleted;
    private long _skippedRuns;
    private long _skippedForOtherInstance;
    private bool _started;
    private bool _disposed;

    /// <summary>Creates a cleaner for <paramref name="store"/>; it does nothing until <see cref="Start"/>.</summary>
    /// <param name="store">The store whose expired events are deleted; its <see cref="EventStore.Scheduler"/>
    /// times the runs and decides what has expired.</param>
    /// <param name="deletionPeriod"><c>EB_PG_DELETION_PERIOD_IN_MS</c>: time between runs
    /// (<see cref="PostgresPersistenceOptions.DeletionPeriod"/>, default 10 minutes). The first run is one
    /// period after <see cref="Start"/>.</param>
    /// <param name="logger">Where failed runs are logged. Default: none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="store"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="deletionPeriod"/> is not positive.</exception>
    public TtlCleaner(EventStore store, TimeSpan deletionPeriod, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(deletionPeriod, TimeSpan.Zero);
        _store = store;
        DeletionPeriod = deletionPeriod;
        _logger = logger ?? NullLogger.Instance;

        // Isolated like the consumer's own streams: an observer that throws is logged and never stops the runs.
        _runs = new ObserverList<TtlCleanupRun>(e => Log.ObserverFailed(_logger, e, nameof(Runs)));
    }

    /// <summary>Time between runs.</summary>
    public TimeSpan DeletionPeriod { get; }

    /// <summary>
    /// Each finished run, successful or not, on the thread that finished it. Completes when the cleaner is
    /// disposed; a run cancelled by disposal is not reported. An observer that throws is logged (id 16) and keeps
    /// receiving; the runs go on.
    /// </summary>
    public IObservable<TtlCleanupRun> Runs => _runs;

    /// <summary>Events deleted by all runs so far.</summary>
    public long TotalDeleted => Interlocked.Read(ref _totalDeleted);

    /// <summary>Ticks skipped because the previous run had not finished.</summary>
    public long SkippedRuns => Interlocked.Read(ref _skippedRuns);

    /// <summary>
    /// Runs that deleted nothing because another instance was cleaning the same table at that moment (it held the
    /// cleaning lock); that instance deleted the expired rows.
    /// </summary>
    public long SkippedForOtherInstance => Interlocked.Read(ref _skippedForOtherInstance);

    /// <summary>
    /// Whether expired rows that a named subscription has not yet passed are kept
    /// (<see cref="PostgresPersistenceOptions.TtlSparesUnreadEvents"/>). Default: true.
    /// </summary>
    public bool SparesUnreadEvents { get; init; } = true;

    /// <summary>
    /// Whether a run deletes expired events (<see cref="PostgresPersistenceOptions.AutoDeleteWithTtl"/>). False with
    /// <see cref="PartitionsAhead"/> set: the runs only make partitions. Default: true.
    /// </summary>
    public bool DeletesExpired { get; init; } = true;

    /// <summary>
    /// For a partitioned table (<see cref="EventTable.IsPartitioned"/>): each run first makes the partitions from the
    /// one holding the tick's time to the one holding that time plus this span, and those that rows waiting in the
    /// default partition belong to (<see cref="SchemaManager.CreatePartitionsAsync"/>). Null (the default): the runs
    /// make none. Ignored for a plain table.
    /// </summary>
    public TimeSpan? PartitionsAhead { get; init; }

    /// <summary>Schedules the runs: the first one period from now on the store's scheduler, then every period.</summary>
    /// <exception cref="InvalidOperationException">The cleaner was already started.</exception>
    /// <exception cref="ObjectDisposedException">The cleaner is disposed.</exception>
    public void Start()
    {
        using (_gate.EnterScope())
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_started)
            {
                throw new InvalidOperationException("The TtlCleaner is already started.");
            }

            _started = true;
            _timer = _store.Scheduler.SchedulePeriodic(this, DeletionPeriod, static self => self.Tick());
        }
    }

    /// <summary>
    /// Stops the runs and cancels the one in progress, without waiting for it; <see cref="Runs"/> completes.
    /// Prefer <see cref="DisposeAsync"/>, which waits.
    /// </summary>
    public void Dispose() => Stop();

    /// <summary>Stops the runs, cancels the one in progress and waits for it to end; <see cref="Runs"/> completes.</summary>
    public async ValueTask DisposeAsync()
    {
        var current = Stop();
        if (current is not null)
        {
            await current.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _stopping.Dispose();
        }
    }

    // Returns the run that was in progress the first time it is called, null after.
    private Task? Stop()
    {
        IDisposable? timer;
        Task current;
        using (_gate.EnterScope())
        {
            if (_disposed)
            {
                return null;
            }

            _disposed = true;
            timer = _timer;
            _timer = null;
            current = _current;
            _runs.OnCompleted();
        }

        timer?.Dispose();
        _stopping.Cancel();
        return current;
    }

    // On the scheduler. The flag is set here, before the run is handed to the thread pool, so the next tick
    // sees it whatever the pool does.
    private void Tick()
    {
        if (Interlocked.CompareExchange(ref _running, 1, 0) != 0)
        {
            Interlocked.Increment(ref _skippedRuns);
            Log.ExpiredDeletionSkipped(_logger, _store.Table.QualifiedName);
            return;
        }

        var at = _store.Scheduler.Now;
        using (_gate.EnterScope())
        {
            if (_disposed)
            {
                Volatile.Write(ref _running, 0);
                return;
            }

            _current = Task.Run(() => RunAsync(at), CancellationToken.None);
        }
    }

    private async Task RunAsync(DateTimeOffset at)
    {
        TtlCleanupRun run;
        try
        {
            IReadOnlyList<string> created = [];
            if (PartitionsAhead is { } ahead && _store.Table.IsPartitioned)
            {
                created = await _store.CreatePartitionsAheadAsync(at, ahead, _stopping.Token).ConfigureAwait(false);
                if (created.Count > 0)
                {
                    Log.PartitionsCreated(_logger, _store.Table.QualifiedName, string.Join(", ", created));
                }
            }

            var result = DeletesExpired
                ? await _store.DeleteExpiredBeforeAsync(at, SparesUnreadEvents, waitForLock: false, _stopping.Token).ConfigureAwait(false)
                : new ExpiredCleanup(0, []);
            if (result is { } cleanup)
            {
                Interlocked.Add(ref _totalDeleted, cleanup.Deleted);
                if (DeletesExpired)
                {
                    Log.ExpiredDeleted(_logger, cleanup.Deleted, _store.Table.QualifiedName, at);
                }

                if (cleanup.DroppedPartitions.Count > 0)
                {
                    Log.PartitionsDropped(_logger, _store.Table.QualifiedName, string.Join(", ", cleanup.DroppedPartitions), at);
                }

                run = new TtlCleanupRun(at, cleanup.Deleted, null) { DroppedPartitions = cleanup.DroppedPartitions, CreatedPartitions = created };
            }
            else
            {
                Interlocked.Increment(ref _skippedForOtherInstance);
                Log.ExpiredDeletionLeftToOtherInstance(_logger, _store.Table.QualifiedName);
                run = new TtlCleanupRun(at, 0, null) { LeftToOtherInstance = true, CreatedPartitions = created };
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e) when (_stopping.IsCancellationRequested)
        {
            // Npgsql may surface a cancelled command as a PostgresException (57014) rather than an
            // OperationCanceledException; either way the cleaner is stopping and nothing failed.
            Log.ExpiredDeletionInterrupted(_logger, e, _store.Table.QualifiedName);
            return;
        }
#pragma warning disable CA1031 // A failed run must not end the cleaner: it is logged, reported, and the next tick retries.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.ExpiredDeletionFailed(_logger, e, _store.Table.QualifiedName, DeletionPeriod);
            run = new TtlCleanupRun(at, 0, e);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }

        // Under the gate so OnNext never races the OnCompleted of Stop (the Rx contract: one call at a time).
        using (_gate.EnterScope())
        {
            if (!_disposed)
            {
                _runs.OnNext(run);
            }
        }
    }
}
