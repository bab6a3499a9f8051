using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using RxEventBus.Postgres;

namespace RxEventBus.Cli;

/// <summary>
/// One demo run: check the settings, find or start the database, check (and if need be migrate) the table, start
/// the consumer, publish, flush, count what reached the table, report. Every step's resources are disposed in
/// reverse, the throwaway cluster last, whether the run ends normally, fails or is stopped by a signal.
/// </summary>
internal sealed class DemoRun(CliContext context, DemoRequest request)
{
    public const string Topic = "fake_event_initialized";
    public const string ErrorTopic = "fake_event_erred";
    public const string Source = "console";

    /// <summary>Ten minutes: long enough that the TTL cleaner never deletes a row before the demo counts it.</summary>
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(600);

    // With --json, standard output holds the JSON only: notes and progress go to standard error.
    private TextWriter Notes => request.Json ? context.Error : context.Out;

    public async Task<int> RunAsync()
    {
        var stop = context.Stop;
        var flags = request.Flags;
        var hasUrl = request.DatabaseUrl is not null;
        if (request.Keep && hasUrl)
        {
            throw new CliUsageException(
                "--keep keeps the throwaway PostgreSQL the demo starts when no database is given; it cannot be used with " +
                "--database-url or EB_PG_DATABASE_URL.");
        }

        // Every setting is checked before anything starts, so a bad flag costs nothing; without a URL, the
        // throwaway cluster started below gives the connection string.
        var options = OptionBinding.Bind(request.Parse, flags.All, context.Environment, DemoCommand.Defaults, databaseLater: !hasUrl);
        if (!options.Enabled)
        {
            throw new CliUsageException("EB_PG_ENABLED is false in the environment, but persisting events is the demo's job: unset it.");
        }

        await using var database = hasUrl
            ? DemoDatabase.Existing(options.ConnectionString, request.DatabaseUrl!)
            : await DemoDatabase.StartEmbeddedAsync(request.Keep, Note, stop.Stopping);
        if (!hasUrl)
        {
            options.ConnectionString = database.ConnectionString;
        }

        await using var dataSource = options.CreateDataSource();
        using var bus = new EventBus(new EventBusOptions { Topics = [Topic, ErrorTopic] });
        var table = options.ToEventTable();
        Note($"Database: {database.Description}; table {Name(table)}.");
        await PrepareTableAsync(dataSource, table, options.EnsureSchema, stop.Stopping);
        await using var consumer = new PostgresConsumer(bus, options, dataSource);

        // Declared after the consumer, so it stops first: the page never asks a disposed consumer or data source.
        await using var dashboard = request.DashboardUrls is { } urls
            ? await DashboardServer.StartAsync(
                urls,
                allowRemote: false,
                enableActions: false,
                services => services.AddSingleton(bus).AddSingleton(consumer).AddSingleton(dataSource),
                context.Error,
                "rxeventbus demo",
                stop.Stopping)
            : null;
        if (dashboard is not null)
        {
            Note($"Dashboard: {dashboard.Url}");
        }

        await consumer.StartAsync(stop.Stopping);

        var transactionId = Guid.CreateVersion7();
        var publisher = new DemoPublisher(bus, Topic, new EventSourceParams
        {
            TransactionId = transactionId,
            Source = Source,
            Ttl = Ttl,
            ErrorTopic = ErrorTopic,
        });
        Note(Invariant($"Publishing {request.Events:N0} events on {Topic} (error topic {ErrorTopic}, transaction {transactionId}).") +
            Invariant($" Batch size {options.MaxBatchSize:N0}, buffer {options.BufferSize:N0}, {options.PoolSize} writer(s), overflow {DemoSummary.Overflow(options.Overflow)}."));

        var startedAt = bus.Scheduler.Now;
        var clock = Stopwatch.StartNew();
        var phase = "publishing";
        DemoProgress Read() => new(request.Events, publisher.Published, consumer.Statistics, bus.Diagnostics.PendingEvents, clock.Elapsed, Volatile.Read(ref phase));

        using var publishingStop = CancellationTokenSource.CreateLinkedTokenSource(stop.Stopping);
        var publishing = publisher.RunAsync(request.Events, publishingStop.Token);
        using var viewDone = new CancellationTokenSource();
        var view = ProgressView.Create(Notes, terminal: context.OutputIsTerminal && !request.Json, context.ProgressInterval);
        var showing = view.ShowAsync(Read, viewDone.Token);
        TimeSpan elapsed;
        try
        {
            switch (await WaitForPublishingAsync(publishing, consumer.Completion, stop.Stopping))
            {
                case PublishingEnd.Finished:
                    Volatile.Write(ref phase, "flushing");
                    break;
                case PublishingEnd.Signalled:
                    Volatile.Write(ref phase, "stopping, flushing (Ctrl+C again: stop waiting)");
                    break;
                default:
                    // A faulted consumer refuses every event: publishing on would only count refusals.
                    await publishingStop.CancelAsync();
                    Volatile.Write(ref phase, "the consumer faulted, stopping");
                    break;
            }

            // Drains the buffer and writes the last batch. A publisher still waiting for room is refused from
            // here on, so the publishing thread ends too.
            await consumer.StopAsync(stop.Abandoning);
            await publishing;
            elapsed = clock.Elapsed;
        }
        finally
        {
            await viewDone.CancelAsync();
            await showing;
        }

        // Read before the counts below, which a broken database may fail: the fault is said either way.
        var status = consumer.Status;
        var fault = status.State == ConsumerState.Faulted ? Why(status) : null;
        if (fault is not null)
        {
            var stopped = publisher.Finished ? "" : ", so publishing stopped";
            await context.Error.WriteLineAsync($"rxeventbus demo: the persistence consumer faulted{stopped}: {fault}");
        }

        var summary = new DemoSummary
        {
            Requested = request.Events,
            Published = publisher.Published,
            Rejected = publisher.Rejected,
            Persisted = await consumer.Store.CountByTransactionIdAsync(transactionId, cancellationToken: stop.Abandoning),
            Topics = await consumer.Store.CountPerTopicAsync(startedAt, stop.Abandoning),
            Elapsed = elapsed,
            Statistics = consumer.Statistics,
            ConsumerState = status.State,
            ConsumerFault = fault,
            Unwritten = consumer.Unwritten.Count,
            Interrupted = !publisher.Finished,
            InterruptedExitCode = stop.IsRequested ? stop.ExitCode : ExitCodes.Interrupted,
            TransactionId = transactionId,
            Table = Name(table),
            Database = database.Description,
            Options = options,
            Kept = request.Keep && database.Server is { } server
                ? new KeptCluster(database.ServerUrl!, server.ConnectionString, database.ServerStopCommand!)
                : null,
        };

        if (request.Json)
        {
            summary.WriteJson(context.Out);
        }
        else
        {
            summary.WriteText(context.Out);
        }

        if (dashboard is not null && !stop.IsRequested)
        {
            // The page keeps the run's counts and the consumer's last state for the newcomer to look at.
            Note($"Dashboard stays up: press Ctrl-C to stop ({dashboard.Url}).");
            await StopSignal.UntilStoppedAsync(stop.Stopping); // the summary is out and its exit code stands
        }

        return summary.ExitCode;
    }

    /// <summary>
    /// Waits until publishing ends: every event was offered, a signal came, or the consumer ended first — which,
    /// in the demo, only a fault can do, and then nothing more will be written however long the run waits.
    /// </summary>
    internal static async Task<PublishingEnd> WaitForPublishingAsync(Task publishing, Task consumerCompletion, CancellationToken stopping)
    {
        try
        {
            var first = await Task.WhenAny(publishing, consumerCompletion).WaitAsync(stopping);
            return first == publishing ? PublishingEnd.Finished : PublishingEnd.ConsumerEnded;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return PublishingEnd.Signalled;
        }
    }

    // The consumer checks the table when it starts too, but it only logs what it changed, and the demo has no log
    // to read. So the demo makes the same call first and prints the report itself — every column added to an
    // older table, every index created — from the typed report rather than from log lines; a table it cannot
    // write to (SchemaMismatchException, which CommandRunner words) or a database it cannot reach ends the run
    // here, before anything is published. The consumer's own check then finds nothing left to do.
    private async Task PrepareTableAsync(NpgsqlDataSource dataSource, EventTable table, bool ensureSchema, CancellationToken cancellationToken)
    {
        var report = ensureSchema
            ? await SchemaManager.EnsureSchemaAsync(dataSource, table, cancellationToken)
            : await SchemaManager.VerifySchemaAsync(dataSource, table, cancellationToken);
        foreach (var change in report.Changes)
        {
            Note($"Schema: {change}.");
        }

        foreach (var warning in report.Warnings)
        {
            Note($"Schema warning: {warning}");
        }
    }

    // The status's reason, with the error behind it when the reason does not already quote it.
    private static string Why(ConsumerStatus status) => status.Error switch
    {
        SchemaMismatchException mismatch => CommandRunner.Describe(mismatch),
        { } error when !(status.Reason ?? "").Contains(error.Message, StringComparison.Ordinal) => $"{status.Reason}: {error.Message}",
        _ => status.Reason ?? "no reason was given",
    };

    private static string Name(EventTable table) => $"{table.Schema}.{table.Table}";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private void Note(string line)
    {
        Notes.WriteLine(line);
        Notes.Flush();
    }
}

/// <summary>Why <see cref="DemoRun.WaitForPublishingAsync"/> returned.</summary>
internal enum PublishingEnd
{
    /// <summary>Every requested event was offered to the bus.</summary>
    Finished,

    /// <summary>Ctrl+C, SIGTERM or SIGHUP.</summary>
    Signalled,

    /// <summary>The consumer ended (faulted) while events were still being published.</summary>
    ConsumerEnded,
}
