using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using RxEventBus.PipelineBench.Infrastructure;
using RxEventBus.Postgres;
using RxEventBus.Postgres.Pipeline;

namespace RxEventBus.PipelineBench.Contenders;

// How the consumer's own writer is written, in the prototypes.
internal enum PrototypeWriter
{
    // CopyWriter's per-value StartRowAsync/WriteAsync: should match (d), which validates the replica.
    Async,

    // The recommended change: the same COPY through StartRow/Write.
    Sync,

    // No database at all: each batch is acknowledged as soon as it is cut. The bus, queue, mapper and batcher
    // alone — the most the client side can do.
    None,
}

// PostgresConsumer.RunAsync rebuilt from the library's own stage files (EventQueue, EventMapper, Batcher,
// Prefetcher, EventRow and SchedulerTime are compiled into this project from src/), with the writer swapped:
// the way to measure a writer change, or the pipeline without a database, before touching the library.
// Retries, dead letters and the staging-table path are left out; on the happy path the library takes none
// of them. (The changes first prototyped here — the batch cut ahead, the queue waking publishers at half
// capacity, the batch list sized once — are in the library now, so every replica runs them.)
internal sealed class LibraryPipelinePrototype(ContenderContext context, PrototypeWriter writer) : Contender(context)
{
    // "p-async", "p-sync" or "p-nodb".
    internal static LibraryPipelinePrototype Parse(ContenderContext context, string key) => new(context, key switch
    {
        "p-async" => PrototypeWriter.Async,
        "p-sync" => PrototypeWriter.Sync,
        "p-nodb" => PrototypeWriter.None,
        _ => throw new ArgumentException($"Unknown prototype '{key}': p-async, p-sync or p-nodb."),
    });

    private readonly CancellationTokenSource _abort = new();
    private EventBus? _bus;
    private IDisposable? _subscription;
    private Task? _run;
    private readonly Stopwatch _clock = new();
    private long _acknowledged;
    private long _writing;
    private int _batches;

    internal override string Key => writer switch
    {
        PrototypeWriter.Async => "p-async",
        PrototypeWriter.Sync => "p-sync",
        _ => "p-nodb",
    };

    internal override string Description => writer switch
    {
        PrototypeWriter.Async => "replica of PostgresConsumer (library stage files) with CopyWriter's async row writes",
        PrototypeWriter.Sync => "replica of PostgresConsumer (library stage files) with StartRow/Write row writes",
        _ => "replica of PostgresConsumer (library stage files) with no database: bus → queue → map → batch → ack",
    };

    internal override bool WritesRows => writer != PrototypeWriter.None;

    // With one writer: the share of the run it spent in COPY, the rest being waits for its next batch (the
    // backend idle meanwhile, unless another writer or a batch cut ahead keeps it busy).
    internal override string? Note => _batches == 0 ? null : string.Create(CultureInfo.InvariantCulture,
        $"{Key}: {_batches} batches; writer busy {100.0 * Interlocked.Read(ref _writing) / _clock.ElapsedTicks:F0}% of the run " +
        $"(summed over {Context.Settings.PoolSize} writer(s))");

    internal override Task PrepareAsync()
    {
        var settings = Context.Settings;
        _bus = new EventBus(new EventBusOptions { Topics = [Workload.Topic] });
        var queue = new EventQueue(settings.BufferSize, OverflowPolicy.Wait, TimeSpan.FromDays(1), _bus.Scheduler, new NoListener());
        var mapper = new EventMapper(new JsonEventSerializer(), Workload.DefaultTtl, Context.Table.Design.Payload);
        _subscription = _bus.Tracked("postgres", ".*").Subscribe(queue);
        var scheduler = _bus.Scheduler;
        var token = _abort.Token;
        _run = Task.Run(async () =>
        {
            var batches = queue.ReadAllAsync(token)
                .Select((delivery, token) => mapper.MapAsync(delivery, 0, token))
                .Batch(settings.BatchSize, TimeSpan.FromMilliseconds(settings.BatchDelayMs), scheduler, token)
                .Prefetch(1, token);
            await Parallel.ForEachAsync(
                batches,
                new ParallelOptions { MaxDegreeOfParallelism = settings.PoolSize, CancellationToken = token },
                WriteBatchAsync);
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    internal override async Task<long> RunAsync()
    {
        var bus = _bus!;
        _clock.Start();
        foreach (var @event in Context.Workload.Events)
        {
            bus.Publish(@event);
        }

        while (Interlocked.Read(ref _acknowledged) < Context.Workload.Count)
        {
            await Task.Delay(1);
        }

        _clock.Stop();

        return Interlocked.Read(ref _acknowledged);
    }

    protected override async ValueTask ReleaseAsync()
    {
        await _abort.CancelAsync();
        if (_run is not null)
        {
            await _run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _subscription?.Dispose();
        _bus?.Dispose();
        _abort.Dispose();
    }

    private async ValueTask WriteBatchAsync(List<MappedEvent> batch, CancellationToken cancellationToken)
    {
        var rows = new List<EventRow>(batch.Count);
        foreach (var mapped in batch)
        {
            rows.Add(mapped.DeadLetter is null ? mapped.Row : throw new InvalidOperationException("The workload holds no event the mapper refuses."));
        }

        Interlocked.Increment(ref _batches);
        var started = _clock.ElapsedTicks;
        if (writer != PrototypeWriter.None)
        {
            await CopyRows.CopyBatchAsync(
                Context.DataSource,
                Context.CopyCommand,
                Context.DataType,
                rows,
                static r => new RowValues(r.Event, r.Data, r.InitializedAt, r.OccurredAt, r.ExpiresAt),
                writer == PrototypeWriter.Sync ? RowWriting.Sync : RowWriting.Async,
                cancellationToken);
        }

        foreach (var row in rows)
        {
            row.Delivery.TryMarkCompleted();
        }

        Interlocked.Add(ref _writing, _clock.ElapsedTicks - started);
        Interlocked.Add(ref _acknowledged, rows.Count);
        rows.Clear(); // as PostgresConsumer.WriteBatchAsync does, so that no written batch keeps its events alive
        batch.Clear();
    }

    // The replica counts nothing and never drops (Wait, with a timeout no run reaches): the callbacks do nothing.
    private sealed class NoListener : IQueueListener
    {
        public void Accepted(TrackedEvent delivery)
        {
        }

        public void Dropped(TrackedEvent delivery, string reason) => delivery.TryMarkSkipped();

        public void Refused(TrackedEvent delivery, string reason)
        {
        }

        public void Ended(Exception? error)
        {
        }
    }
}

// The bus alone: Publish with one tracked subscriber that acknowledges inside OnNext. What every event pays
// before the consumer's queue.
internal sealed class BusOnly(ContenderContext context) : Contender(context)
{
    private EventBus? _bus;
    private IDisposable? _subscription;
    private long _acknowledged;

    internal override string Key => "bus";

    internal override string Description => "EventBus.Publish to a tracked subscriber that acknowledges in OnNext (no queue, no database)";

    internal override bool WritesRows => false;

    internal override Task PrepareAsync()
    {
        _bus = new EventBus(new EventBusOptions { Topics = [Workload.Topic] });
        _subscription = _bus.Tracked("postgres", ".*").Subscribe(t =>
        {
            t.MarkCompleted();
            _acknowledged++;
        });
        return Task.CompletedTask;
    }

    internal override Task<long> RunAsync()
    {
        foreach (var @event in Context.Workload.Events)
        {
            _bus!.Publish(@event);
        }

        return Task.FromResult(_acknowledged);
    }

    protected override ValueTask ReleaseAsync()
    {
        _subscription?.Dispose();
        _bus?.Dispose();
        return ValueTask.CompletedTask;
    }
}
