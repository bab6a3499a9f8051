using System.Reactive.Concurrency;
using Microsoft.Extensions.Logging;

namespace RxEventBus.Postgres.Internal;

// The consumer's state and its changes: the one place that decides Running / Degraded / Stopping / Stopped /
// Faulted, logs each change once at the level it deserves, and tells observers (a health check, a dashboard).
// Writers report each failed attempt and their recovery; several writers may fail at once, so the consumer is
// degraded while any of them is.
internal sealed class ConsumerHealth
{
    private readonly IScheduler _scheduler;
    private readonly ILogger _logger;
    private readonly string _table;
    private readonly ConsumerCounters _counters;
    // _gate guards the state and is never held while user code runs; _notify orders the notifications, so
    // observers see the changes in the order they happened, outside _gate (an observer may read Status).
    private readonly Lock _gate = new();
    private readonly Lock _notify = new();
    private ConsumerStatus _status;
    private int _failing;

    // What the current degradation is about (kind and error type): a change of cause is logged again, the same
    // cause retried is not.
    private string? _cause;
    private long _lastCommitTicks = long.MinValue;

    internal ConsumerHealth(IScheduler scheduler, ILogger logger, string table, ConsumerCounters counters)
    {
        _scheduler = scheduler;
        _logger = logger;
        _table = table;
        _counters = counters;
        _status = new ConsumerStatus(ConsumerState.Created, null, null, scheduler.Now, null);
        Changes = new ObserverList<ConsumerStatus>(e => Log.ObserverFailed(logger, e, "StatusChanges"));
    }

    internal ObserverList<ConsumerStatus> Changes { get; }

    internal ConsumerStatus Status
    {
        get
        {
            using (_gate.EnterScope())
            {
                return _status with { LastCommitAt = LastCommitAt };
            }
        }
    }

    internal ConsumerState State
    {
        get
        {
            using (_gate.EnterScope())
            {
                return _status.State;
            }
        }
    }

    private DateTimeOffset? LastCommitAt
    {
        get
        {
            var ticks = Interlocked.Read(ref _lastCommitTicks);
            return ticks == long.MinValue ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    // Per committed batch: one clock read and one interlocked write, no lock.
    internal void Committed() => Interlocked.Exchange(ref _lastCommitTicks, _scheduler.Now.UtcTicks);

    internal void Started() => Update(status => status.State == ConsumerState.Created
        ? (_failing == 0 ? ConsumerState.Running : ConsumerState.Degraded, status.Reason, status.Error)
        : null);

    internal void Stopping() => Update(status => status.State is ConsumerState.Created or ConsumerState.Running or ConsumerState.Degraded
        ? (ConsumerState.Stopping, status.Reason, status.Error)
        : null);

    internal void Stopped(string? reason) => Update(status => status.State != ConsumerState.Faulted
        ? (ConsumerState.Stopped, reason, null)
        : null);

    // Terminal: a later stop does not hide it.
    internal void Faulted(string reason, Exception error)
    {
        if (Update(status => status.State != ConsumerState.Faulted ? (ConsumerState.Faulted, reason, error) : null))
        {
            Log.ConsumerFaulted(_logger, error, _table, reason);
        }
    }

    // An attempt at `what` failed with an error of `kind` and is retried after `delay`. `failing` is the
    // caller's own flag (one per batch being written): the first failure counts it among the failing writers.
    internal void RetryScheduled(string what, FailureKind kind, Exception error, int attempt, TimeSpan delay, ref bool failing)
    {
        _counters.Retried();
        var cause = kind + ":" + WriteFailures.ErrorType(error);
        var reason = kind == FailureKind.Transient
            ? $"Retrying: {what} failed ({Describe(error)}); retrying with backoff."
            : $"Needs attention: {what} failed ({Describe(error)}). The events are kept and the write is retried with backoff until it is fixed.";
        var changed = false;
        var counted = failing;
        failing = true;
        Update(status =>
        {
            if (!counted)
            {
                _failing++;
            }

            changed = cause != _cause || status.State == ConsumerState.Running;
            _cause = cause;

            // Starting or stopping, the state stays and the reason says what is failing.
            return (status.State is ConsumerState.Running ? ConsumerState.Degraded : status.State, reason, error);
        });

        // A transient failure is logged at each retry (a warning, spaced by the backoff); one that needs a person
        // is logged once at Error when it starts or its cause changes, then only at Debug while it lasts.
        var level = kind == FailureKind.Transient ? LogLevel.Warning : changed ? LogLevel.Error : LogLevel.Debug;
        Log.Retrying(_logger, level, error, what, attempt, delay.TotalMilliseconds, _table);
    }

    internal void Recovered(ref bool failing)
    {
        if (!failing)
        {
            return;
        }

        failing = false;
        var recovered = false;
        Update(status =>
        {
            _failing--;
            if (_failing != 0 || status.State is not (ConsumerState.Degraded or ConsumerState.Stopping or ConsumerState.Created))
            {
                return null;
            }

            _cause = null;
            recovered = status.State == ConsumerState.Degraded;
            return (recovered ? ConsumerState.Running : status.State, null, null);
        });

        if (recovered)
        {
            Log.ConsumerRecovered(_logger, _table);
        }
    }

    // Applies `change` (null: no change) under _gate, then tells observers outside it, in order.
    private bool Update(Func<ConsumerStatus, (ConsumerState State, string? Reason, Exception? Error)?> change)
    {
        using (_notify.EnterScope())
        {
            ConsumerStatus changed;
            using (_gate.EnterScope())
            {
                // The same state for the same reason (one more retry of the same failure) is no news.
                if (change(_status) is not { } next || (next.State == _status.State && next.Reason == _status.Reason))
                {
                    return false;
                }

                _status = new ConsumerStatus(next.State, next.Reason, next.Error, _scheduler.Now, null);
                changed = _status with { LastCommitAt = LastCommitAt };
            }

            Changes.OnNext(changed);
            return true;
        }
    }

    private static string Describe(Exception error) =>
        error is Npgsql.PostgresException postgres ? $"{postgres.SqlState}: {postgres.MessageText}" : $"{error.GetType().Name}: {error.Message}";
}
