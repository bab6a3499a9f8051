using System.Globalization;
using System.Reactive.Concurrency;
using Microsoft.Extensions.Logging;
using Npgsql;
using RxEventBus.Postgres;

namespace RxEventBus.Cli;

/// <summary>
/// One <c>rxeventbus tail</c>: an <see cref="EventSubscription"/> over the table, each event printed on standard
/// output as it is read, the subscription's state changes as notices on standard error. Standard output holds
/// events only, so that it can be piped into <c>jq</c> or a program.
/// </summary>
/// <remarks>
/// An event counts as handled — and a named subscription's checkpoint may move past it — once its line has been
/// written and flushed to standard output, never before: the loop flushes each line before it asks for the next
/// event. So a tail killed at any moment has printed every event its checkpoint covers, and the next tail with the
/// same name re-prints at most the events after that checkpoint (at most CheckpointEvery of them).
/// </remarks>
internal sealed class TailRun(CliContext context, DatabaseSession session, TailRequest request)
{
    private TextWriter Notes => context.Error;

    public async Task<int> RunAsync()
    {
        var stop = context.Stop;
        var options = new EventSubscriptionOptions
        {
            Name = request.Subscription,
            Topics = request.Topics,
            From = request.FromBeginning ? SubscriptionStart.Beginning : SubscriptionStart.End,
        };
        await using var subscription = new EventSubscription(
            session.DataSource, session.Table, new PrintablePayloadSerializer(session.Options.Serializer), options, Scheduler.Default, new NoticeLogger(Notes));

        var name = request.Subscription is { } given ? $"subscription '{given}'" : "an anonymous subscription";
        var start = request.FromBeginning ? "the beginning" : "the end (events committed from now on)";
        Note($"Following {session.Table.Schema}.{session.Table.Table} (topics {string.Join(';', request.Topics)}) as {name}; " +
            $"without a checkpoint it starts at {start}.");
        using var states = subscription.StateChanges.Subscribe(state =>
        {
            if (Describe(state, subscription) is { } notice)
            {
                Note(notice);
            }
        });

        var printed = 0L;
        try
        {
            await foreach (var @event in subscription.ReadAsync(stop.Stopping))
            {
                // Written and flushed first, then acknowledged: the checkpoint never passes an event that was not
                // printed. (Asking for the next event acknowledges it too; Acknowledge covers the last one, after
                // which a --count run stops asking.)
                EventOutput.WriteTailed(context.Out, @event, subscription.Position, request.Json);
                await context.Out.FlushAsync(CancellationToken.None);
                subscription.Acknowledge();
                if (++printed == request.Count)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsRequested)
        {
            // Ctrl+C or SIGTERM while waiting for the next event: the end of a follow. The subscription stored
            // the checkpoint of every event printed as its enumeration ended.
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedColumn)
        {
            Note($"{session.Table.Schema}.{session.Table.Table} has no position to read it by ({e.MessageText}): it was created " +
                "before subscriptions. Start the consumer, or run the demo, on it once to add the columns (EB_PG_ENSURE_SCHEMA, " +
                "on by default), or run docs/schema.sql.");
            return ExitCodes.Failure;
        }

        Note(Invariant($"Printed {printed:N0} events") + (request.Subscription is not null && subscription.Checkpoint is { } checkpoint
            ? $"; subscription '{request.Subscription}' is stored at {checkpoint}."
            : "."));

        // Following until stopped is a tail's normal end; only a --count cut short by a signal did not finish its job.
        return stop.IsRequested && printed < request.Count ? stop.ExitCode : ExitCodes.Success;
    }

    // The states a person watching wants to see. Starting (each connection) and Stopped say nothing the other lines
    // do not; a fault is reported with its reason when ReadAsync throws it.
    private string? Describe(SubscriptionState state, EventSubscription subscription) => state switch
    {
        SubscriptionState.Standby => $"Standby: another process reads subscription '{request.Subscription}'; this one takes over when it stops.",
        SubscriptionState.CatchingUp when request.Subscription is not null => $"Leading: this process reads subscription '{request.Subscription}'.",
        SubscriptionState.Live => "Live: caught up" + (subscription.Position is { } at ? $" at {at}" : "") + "; waiting for new events.",
        SubscriptionState.Reconnecting => "Reconnecting: the connection to the database was lost; resuming after the last event printed.",
        _ => null,
    };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private void Note(string line)
    {
        Notes.WriteLine($"rxeventbus tail: {line}");
        Notes.Flush();
    }

    /// <summary>
    /// The subscription's log, as notices: where it starts reading (and why there), why it reconnects, a transaction
    /// that holds rows back. Its standby message is left to the Standby notice, which says the same; its errors to
    /// <see cref="CommandRunner"/>, which reports the exception that ends the run once, in the CLI's words.
    /// </summary>
    private sealed class NoticeLogger(TextWriter notes) : ILogger
    {
        // docs/observability.md: 31 is "stands by", which the Standby notice says once, in the tail's words.
        private const int StandbyEventId = 31;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel is LogLevel.Information or LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel) || eventId.Id == StandbyEventId)
            {
                return;
            }

            // PostgreSQL's messages run on over several lines (POSITION, DETAIL): the first says what happened.
            var message = formatter(state, exception);
            if (exception is not null && !message.Contains(exception.Message, StringComparison.Ordinal))
            {
                message += ": " + exception.Message.Split('\n')[0].TrimEnd();
            }

            notes.WriteLine($"rxeventbus tail: {(logLevel == LogLevel.Warning ? "warning: " : "")}{message}");
            notes.Flush();
        }
    }
}
