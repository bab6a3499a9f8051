using RxEventBus.Postgres.Internal;
using RxEventBus.Postgres.Subscriptions;
using RxEventBus.Testing;

namespace RxEventBus.Postgres.Tests.Support;

// The table as a subscription sees it, in memory, so the subscription's loop runs in virtual time: rows by
// position, a fence, scripted failures, and a record of every call with the scheduler's clock.
internal sealed class FakeLog(ThreadSafeTestScheduler scheduler) : ILogSource
{
    private readonly Lock _gate = new();
    private readonly List<LoggedEvent> _rows = [];
    private readonly Dictionary<string, LogPosition> _checkpoints = [];
    private readonly List<TimeSpan> _reads = [];
    private readonly List<(TimeSpan At, LogPosition Position)> _stores = [];
    private readonly List<TimeSpan> _leadAttempts = [];
    private readonly Queue<Exception> _readFailures = new();
    private Action? _wake;
    private ulong _fence = ulong.MaxValue;
    private int _refusedLeads;

    public string Table => "fake";

    internal IReadOnlyList<TimeSpan> Reads { get { using (_gate.EnterScope()) { return [.. _reads]; } } }

    internal IReadOnlyList<(TimeSpan At, LogPosition Position)> Stores { get { using (_gate.EnterScope()) { return [.. _stores]; } } }

    internal IReadOnlyList<TimeSpan> LeadAttempts { get { using (_gate.EnterScope()) { return [.. _leadAttempts]; } } }

    internal int Opens { get; private set; }

    internal int OpenSessions { get; private set; }

    internal void Add(params Event[] events)
    {
        using (_gate.EnterScope())
        {
            foreach (var e in events)
            {
                var position = new LogPosition(100 + (ulong)_rows.Count, _rows.Count + 1);
                _rows.Add(new LoggedEvent(position, e));
            }
        }
    }

    internal LogPosition PositionOf(int index) { using (_gate.EnterScope()) { return _rows[index].Position; } }

    // Rows of transactions at or above the fence are "still running": not readable.
    internal void SetFence(ulong fence) { using (_gate.EnterScope()) { _fence = fence; } }

    internal void FailNextReads(params Exception[] errors) { using (_gate.EnterScope()) { foreach (var e in errors) { _readFailures.Enqueue(e); } } }

    internal void RefuseLeadership(int times) { using (_gate.EnterScope()) { _refusedLeads = times; } }

    internal void SetCheckpoint(string name, LogPosition position) { using (_gate.EnterScope()) { _checkpoints[name] = position; } }

    internal LogPosition? CheckpointOf(string name) { using (_gate.EnterScope()) { return _checkpoints.TryGetValue(name, out var p) ? p : null; } }

    // What the writer's NOTIFY does.
    internal void Notify() => _wake?.Invoke();

    public Task<ILogSession> OpenAsync(CancellationToken cancellationToken)
    {
        Opens++;
        OpenSessions++;
        return Task.FromResult<ILogSession>(new Session(this));
    }

    public IDisposable Listen(Action wake, RetryPolicy retry)
    {
        _wake = wake;
        return System.Reactive.Disposables.Disposable.Create(() => _wake = null);
    }

    private TimeSpan Now => scheduler.Elapsed;

    private sealed class Session(FakeLog log) : ILogSession
    {
        public Task<bool> TryLeadAsync(string name, CancellationToken cancellationToken)
        {
            using (log._gate.EnterScope())
            {
                log._leadAttempts.Add(log.Now);
                if (log._refusedLeads > 0)
                {
                    log._refusedLeads--;
                    return Task.FromResult(false);
                }

                return Task.FromResult(true);
            }
        }

        public Task<LogPosition?> LoadCheckpointAsync(string name, CancellationToken cancellationToken) => Task.FromResult(log.CheckpointOf(name));

        public Task StoreCheckpointAsync(string name, LogPosition position, CancellationToken cancellationToken)
        {
            using (log._gate.EnterScope())
            {
                log._checkpoints[name] = position;
                log._stores.Add((log.Now, position));
            }

            return Task.CompletedTask;
        }

        public Task<LogPosition> EndAsync(CancellationToken cancellationToken)
        {
            using (log._gate.EnterScope())
            {
                var fence = Math.Min(log._fence, 100 + (ulong)log._rows.Count);
                return Task.FromResult(new LogPosition(fence - 1, long.MaxValue));
            }
        }

        public Task<LogPage> ReadPageAsync(LogPosition after, int limit, TopicFilter topics, CancellationToken cancellationToken)
        {
            using (log._gate.EnterScope())
            {
                log._reads.Add(log.Now);
                if (log._readFailures.TryDequeue(out var error))
                {
                    return Task.FromException<LogPage>(error);
                }

                var fence = Math.Min(log._fence, 100 + (ulong)log._rows.Count);
                var rows = log._rows.Where(r => r.Position > after && r.Position.Transaction < fence).Take(limit).ToList();
                var last = rows.Count > 0 ? rows[^1].Position : after;
                var full = rows.Count == limit;
                var end = full ? last : LogPosition.Max(last, new LogPosition(fence - 1, long.MaxValue));
                var held = log._rows.Exists(r => r.Position.Transaction >= fence);
                return Task.FromResult(new LogPage([.. rows.Where(r => topics.Matches(r.Materialize().Topic))], rows.Count, end, full, held));
            }
        }

        public Task<string> DescribeFenceHolderAsync(CancellationToken cancellationToken) => Task.FromResult("pid 42 in database shop");

        public ValueTask DisposeAsync()
        {
            log.OpenSessions--;
            return ValueTask.CompletedTask;
        }
    }
}
